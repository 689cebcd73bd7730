/**
 * The console's HTML shell: no log data, only the pinned key and where it
 * came from; the app (bundled, served from the same origin) fetches the rest
 * from the API with the bearer token the auditor types in.
 */
import { CONSOLE_CSS, CONSOLE_JS } from './assets.generated.ts';
import { escapeHtml, jsonForHtml } from './html.ts';

/** What the page pins. */
export interface ConsoleConfig {
  /** Raw Ed25519 public key, hex. */
  pinnedKeyHex: string;
  pinnedKeyId: string;
  /** `console-pubkey`: given by the operator; `sidecar-key`: the sidecar's own signing key. */
  pinnedKeySource: 'console-pubkey' | 'sidecar-key';
  /** A token is required by the API. */
  tokenRequired: boolean;
}

/** Content-Security-Policy of every console answer: nothing but this origin's script, style and API. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The static assets, by path under /console/. */
export const CONSOLE_ASSETS: Record<string, { type: string; body: string }> = {
  'app.js': { type: 'text/javascript; charset=utf-8', body: CONSOLE_JS },
  'app.css': { type: 'text/css; charset=utf-8', body: CONSOLE_CSS },
};

/** The page. */
export function consolePage(config: ConsoleConfig): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CONSOLE_CSP.replace(/; frame-ancestors [^;]*/, ''))}">
<link rel="icon" href="data:,">
<title>VCP audit console</title>
<link rel="stylesheet" href="/console/app.css">
<script type="application/json" id="vcp-console-config">${jsonForHtml(config)}</script>
<script src="/console/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="#/">VCP audit console</a><nav aria-label="Sections"><a href="#/">Dashboard</a><a href="#/search">Search</a><a href="#/consistency">Consistency</a><a href="#/settings">Key &amp; token</a></nav></header>
<main id="main" tabindex="-1"><noscript>The console needs JavaScript: it verifies proofs in this browser.</noscript></main>
</body>
</html>
`;
}
