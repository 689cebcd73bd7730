/**
 * The pinned public key: the one the auditor pinned in this browser, else
 * the console's configuration (`--console-pubkey`), else the sidecar's own
 * key — the page always says which, since only a key from outside the
 * sidecar makes its checks independent of it.
 */
import { type PinnedKey, parsePublicKey } from '../lib/keys.ts';

const PIN_KEY = 'vcp.console.pinnedKey';

/** The console's configuration, embedded in the page. */
export interface ConsoleConfig {
  pinnedKeyHex: string;
  pinnedKeyId: string;
  pinnedKeySource: 'console-pubkey' | 'sidecar-key';
  tokenRequired: boolean;
}

/** A key and where it came from. */
export interface Pin {
  key: PinnedKey;
  source: 'browser' | 'console-pubkey' | 'sidecar-key';
}

/** Read the embedded configuration (a JSON data block, never executed). */
export function readConfig(): ConsoleConfig {
  const el = document.getElementById('vcp-console-config');
  return JSON.parse(el?.textContent ?? '{}') as ConsoleConfig;
}

let cached: Pin | undefined;

/** The key in force. */
export async function currentPin(config: ConsoleConfig): Promise<Pin> {
  if (cached) return cached;
  const own = localStorage.getItem(PIN_KEY);
  if (own) {
    try {
      cached = { key: await parsePublicKey(own), source: 'browser' };
      return cached;
    } catch {
      localStorage.removeItem(PIN_KEY);
    }
  }
  cached = { key: await parsePublicKey(config.pinnedKeyHex), source: config.pinnedKeySource };
  return cached;
}

/** Pin a key in this browser (throws when it is not a key); '' goes back to the configured one. */
export async function pinKey(text: string): Promise<void> {
  if (text.trim()) {
    await parsePublicKey(text);
    localStorage.setItem(PIN_KEY, text.trim());
  } else localStorage.removeItem(PIN_KEY);
  cached = undefined;
}

/** How to say where the key came from. */
export function describePin(p: Pin): string {
  switch (p.source) {
    case 'browser':
      return 'pinned by you in this browser';
    case 'console-pubkey':
      return "pinned by the console's configuration (--console-pubkey)";
    default:
      return "the sidecar's own signing key (not independent of it: pin the key you obtained yourself under Key & token)";
  }
}
