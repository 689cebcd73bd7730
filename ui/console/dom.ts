/**
 * A tiny DOM builder: `h('a', { href }, 'text', child…)`. Text always goes
 * in as text nodes and attributes through setAttribute, so nothing the
 * server sends is ever parsed as HTML (no innerHTML anywhere in the console).
 */

/** What `h` accepts as children. */
export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

/** Create an element. Attributes `on<event>` taking functions become listeners; `false`/`undefined` are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** Append children (flattening arrays, skipping empty ones). */
export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else
      el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replace an element's children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A status line: `ok` (green), `bad` (red) or `wait` (grey), announced to screen readers. */
export function banner(kind: 'ok' | 'bad' | 'wait' | 'warn', ...children: Child[]): HTMLElement {
  return h('div', { class: `banner ${kind}`, role: kind === 'bad' ? 'alert' : 'status' }, ...children);
}

/** A definition list from pairs. */
export function facts(rows: [string, Child][]): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
  );
}

/** Monospace text that wraps anywhere (hashes). */
export function mono(text: unknown): HTMLElement {
  return h('code', { class: 'mono' }, String(text ?? ''));
}
