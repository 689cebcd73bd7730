/** The bearer token (this tab only) and the pinned public key. */
import { setToken } from './api.ts';
import { banner, h, replace } from './dom.ts';
import { type ConsoleConfig, currentPin, describePin, pinKey } from './pin.ts';

/** Render the settings page. */
export async function showSettings(
  main: HTMLElement,
  config: ConsoleConfig,
  onChange: () => void,
): Promise<void> {
  const pin = await currentPin(config);
  const msg = h('div', { 'aria-live': 'polite' });
  const token = h('input', { id: 'token', type: 'password', autocomplete: 'off' });
  const key = h('textarea', { id: 'pin', rows: 4, placeholder: 'PEM, 64 hex characters, base64 or JWK' });
  replace(
    main,
    h('h1', null, 'Key & token'),
    h('h2', null, 'Bearer token'),
    h(
      'p',
      null,
      config.tokenRequired
        ? 'This sidecar requires a token for its API. It is kept in this tab only.'
        : 'This sidecar needs no token (it answers localhost only).',
    ),
    h(
      'form',
      {
        onsubmit: (e: Event) => {
          e.preventDefault();
          setToken(token.value.trim());
          token.value = '';
          replace(msg, banner('ok', 'Token kept for this tab.'));
        },
      },
      h('div', { class: 'field' }, h('label', { for: 'token' }, 'Token'), token),
      h('div', { class: 'field actions' }, h('button', { type: 'submit' }, 'Use token')),
    ),
    h('h2', null, 'Pinned public key'),
    h(
      'p',
      null,
      'Checkpoints and proofs are checked in this browser against this key, never against what the server says.',
    ),
    h('p', null, h('strong', null, `Key id ${pin.key.keyId}`), ` — ${describePin(pin)}.`),
    h(
      'form',
      {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          try {
            await pinKey(key.value);
            onChange();
            const now = await currentPin(config);
            replace(msg, banner('ok', `Now pinned: ${now.key.keyId} (${describePin(now)}).`));
          } catch (err) {
            replace(msg, banner('bad', (err as Error).message));
          }
        },
      },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'pin' }, 'Pin another key (empty: back to the configured one)'),
        key,
      ),
      h('div', { class: 'field actions' }, h('button', { type: 'submit' }, 'Pin key')),
    ),
    msg,
  );
}
