/**
 * Calls to the sidecar's API from the console: same origin, the bearer token
 * from this tab's session storage, JSON answers; errors carry the API's message.
 */

/** An API answer other than 2xx. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const TOKEN_KEY = 'vcp.console.token';

/** The token kept for this tab (never in localStorage: it ends with the tab). */
export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/** Keep (or clear, with '') the token for this tab. */
export function setToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** GET a JSON answer. */
export async function getJson<T>(
  path: string,
  params?: Record<string, string | number | undefined>,
): Promise<T> {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params ?? {}))
    if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  const token = getToken();
  const res = await fetch(url, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    cache: 'no-store',
    credentials: 'omit',
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, `${path}: the answer is not JSON (HTTP ${res.status})`);
  }
  if (!res.ok) {
    const msg = (body as { message?: unknown })?.message;
    throw new ApiError(
      res.status,
      res.status === 401
        ? 'the sidecar wants a bearer token: set it under "Key & token"'
        : `${path}: ${typeof msg === 'string' ? msg : `HTTP ${res.status}`}`,
    );
  }
  return body as T;
}
