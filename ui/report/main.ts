/**
 * The report's timelines, built in the browser from the JSON data block the
 * report carries (never executed): events grouped by trace, traces with
 * problems first, a filter, and pages of {@link PAGE_TRACES} traces so that
 * 100 000 events stay fast. Text goes in as text nodes only.
 */

interface Data {
  cols: string[];
  origins: string[];
  /** Per origin: leaves below this are bound to a trusted signature. */
  covered: number[];
  rows: [number, number, number, string, string, string, string, string, string][];
  findings: Record<string, [string, string, string][]>;
}

interface Trace {
  id: string;
  rows: Data['rows'];
  problems: number;
  text: string;
}

/** Traces per page. */
const PAGE_TRACES = 50;
/** Events shown per trace before "show all". */
const TRACE_EVENTS = 200;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const x = document.createElement(tag);
  if (cls) x.className = cls;
  for (const c of children) x.append(c);
  return x;
}

function family(type: string): string {
  return /^(SIG|ORD|ACK|EXE|PRT|REJ|CXL|MOD|CLS|ERR)/.exec(type)?.[1]?.toLowerCase() ?? 'other';
}

function start(): void {
  const root = document.getElementById('timeline-root');
  const block = document.getElementById('vcp-report-data');
  if (!root || !block) return;
  const data = JSON.parse(block.textContent ?? '{}') as Data;
  const byTrace = new Map<string, Trace>();
  for (const r of data.rows) {
    const id = r[4] || '(no trace id)';
    let t = byTrace.get(id);
    if (!t) {
      t = { id, rows: [], problems: 0, text: id.toLowerCase() };
      byTrace.set(id, t);
    }
    t.rows.push(r);
    if (data.findings[String(r[0])]) t.problems++;
    if (t.rows.length <= TRACE_EVENTS) t.text += ` ${r[3]} ${r[5]} ${r[7]} ${r[8]}`.toLowerCase();
  }
  const all = [...byTrace.values()].sort((a, b) => Number(b.problems > 0) - Number(a.problems > 0));
  let page = 0;
  let shown = all;

  const search = el('input');
  search.type = 'search';
  search.id = 'trace-filter';
  search.placeholder = 'trace id, event id, order, symbol, type';
  const label = el('label', '', 'Filter ');
  label.htmlFor = 'trace-filter';
  const onlyBad = el('input');
  onlyBad.type = 'checkbox';
  onlyBad.id = 'only-problems';
  const onlyLabel = el('label', '', onlyBad, ' only traces with problems');
  const filters = el('div', 'filters', label, search, onlyLabel);
  const info = el('span', 'muted');
  const prev = el('button', '', '← Previous');
  const next = el('button', '', 'Next →');
  prev.type = 'button';
  next.type = 'button';
  const pager = el('nav', 'pager', prev, info, next);
  pager.setAttribute('aria-label', 'Timeline pages');
  const list = el('div');
  root.append(filters, pager, list);

  const renderTrace = (t: Trace, limit: number): HTMLElement => {
    const sec = el('section', `trace${t.problems ? ' has-problems' : ''}`);
    const title = el('h3', '', `Trace ${t.id} — ${t.rows.length} event(s)`);
    if (t.problems) title.append(el('span', 'sev invalid', ` · ${t.problems} with problems`));
    const ol = el('ol', 'timeline');
    for (const r of t.rows.slice(0, limit)) {
      const [line, leaf, origin, id, , type, time, symbol, trade] = r;
      const problems = data.findings[String(line)];
      // ✗ an invalid finding at this line; ? not bound to a trusted signature; ✓ bound and nothing found.
      const bound = leaf < (data.covered[origin] ?? 0);
      const invalid = problems?.some(([sev]) => sev === 'invalid') ?? false;
      const li = el('li', invalid ? 'failed' : problems ? 'unproven' : '');
      li.id = `event-line-${line}`;
      const kind = invalid ? 'bad' : problems || !bound ? 'warn' : 'ok';
      const mark = el('span', `mark ${kind}`, kind === 'bad' ? '✗' : kind === 'warn' ? '?' : '✓');
      mark.title =
        kind === 'bad'
          ? 'a finding shows this event was changed, removed, reordered or added'
          : kind === 'warn'
            ? 'not bound to a trusted signature'
            : 'covered by a trusted signature; nothing found';
      li.append(
        mark,
        el('span', `badge t-${family(type)}`, type || '?'),
        el('span', 'time', time),
        el('span', 'trade', [symbol, trade].filter(Boolean).join(' ')),
        el(
          'span',
          'where',
          `line ${line} · leaf ${leaf}${data.origins.length > 1 ? ` · ${data.origins[origin]}` : ''} · ${id}`,
        ),
      );
      for (const [sev, code, message] of problems ?? [])
        li.append(el('div', 'problem', el('strong', '', `${sev.toUpperCase()} ${code}: `), message));
      ol.append(li);
    }
    sec.append(title, ol);
    if (t.rows.length > limit) {
      const more = el('button', '', `Show all ${t.rows.length} events`);
      more.type = 'button';
      more.addEventListener('click', () => sec.replaceWith(renderTrace(t, t.rows.length)));
      sec.append(more);
    }
    return sec;
  };

  const render = () => {
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_TRACES));
    page = Math.min(page, pages - 1);
    list.replaceChildren(
      ...shown.slice(page * PAGE_TRACES, (page + 1) * PAGE_TRACES).map((t) => renderTrace(t, TRACE_EVENTS)),
    );
    info.textContent = `${shown.length} trace(s) · page ${page + 1} of ${pages}`;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  };
  const refilter = () => {
    const q = search.value.trim().toLowerCase();
    shown = all.filter((t) => (!onlyBad.checked || t.problems > 0) && (!q || t.text.includes(q)));
    page = 0;
    render();
  };
  search.addEventListener('input', refilter);
  onlyBad.addEventListener('change', refilter);
  prev.addEventListener('click', () => {
    page--;
    render();
  });
  next.addEventListener('click', () => {
    page++;
    render();
  });
  render();
  document.body.dataset.timelines = 'ready';
}

start();
