/**
 * The console app: a hash router over the views. Everything it shows comes
 * from the sidecar's API; everything it calls verified is checked here with
 * WebCrypto against the pinned key.
 */
import { banner, replace } from './dom.ts';
import { type ConsoleConfig, currentPin, readConfig } from './pin.ts';
import { showCertificate } from './view-certificate.ts';
import { showConsistency } from './view-consistency.ts';
import { showDashboard } from './view-dashboard.ts';
import { showEvent } from './view-event.ts';
import { showSearch } from './view-search.ts';
import { showSettings } from './view-settings.ts';
import { showTrace } from './view-trace.ts';

let stop: (() => void) | undefined;

async function route(config: ConsoleConfig): Promise<void> {
  stop?.();
  stop = undefined;
  const main = document.getElementById('main')!;
  if (!window.isSecureContext || !crypto?.subtle) {
    replace(
      main,
      banner(
        'bad',
        'This page is not in a secure context (https, or http on localhost): the browser offers no WebCrypto here, so nothing can be verified. Open the console through https or an SSH tunnel to localhost.',
      ),
    );
    return;
  }
  const pin = await currentPin(config);
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path = '/', query = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  document.querySelectorAll('header nav a').forEach((a) => {
    const target = a.getAttribute('href')?.slice(1) ?? '';
    if ((target === '/' && path === '/') || (target !== '/' && path.startsWith(target)))
      a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  switch (parts[0]) {
    case undefined:
      stop = showDashboard(main, pin);
      break;
    case 'search':
      showSearch(main, new URLSearchParams(query));
      break;
    case 'trace':
      await showTrace(main, parts[1] ?? '', pin);
      break;
    case 'event':
      await showEvent(main, parts[1] ?? '', pin);
      break;
    case 'certificate':
      await showCertificate(main, parts[1] === 'trace' ? 'trace' : 'event', parts[2] ?? '', pin);
      break;
    case 'consistency':
      await showConsistency(main, pin);
      break;
    case 'settings':
      await showSettings(main, config, () => void 0);
      break;
    default:
      replace(main, banner('bad', `No page ${path}`));
  }
  document.title = `${main.querySelector('h1')?.textContent ?? 'VCP'} — VCP audit console`;
  main.focus({ preventScroll: true });
}

const config = readConfig();
window.addEventListener('hashchange', () => void route(config));
void route(config);
