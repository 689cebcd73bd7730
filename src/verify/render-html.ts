/**
 * The report as one self-contained HTML file (`vcp verify --html`): the
 * verdict in words at the top, the trusted keys and how far completeness
 * reaches, a drawn picture of which leaves each checkpoint and anchor covers,
 * counts per event type and per check, every finding, and per-trace
 * timelines with the failures marked at their line and event.
 *
 * Formats only (the verdict was decided in verdict.ts). Safe to open: no
 * network access (CSP `default-src 'none'`), every string from the input is
 * escaped, the event data travels as a JSON block the browser never
 * executes, and the one script (timeline paging, ui/report/) and the one
 * style sheet are allowed by their SHA-256 hashes only. Timelines are paged
 * in the browser: up to {@link HTML_MAX_EVENTS} events are kept.
 */
import { createHash } from 'node:crypto';
import { REPORT_CSS, REPORT_JS } from '../ui/assets.generated.ts';
import { escapeHtml as e, jsonForHtml } from '../ui/html.ts';
import { CHECK_NAMES, type Finding } from './findings.ts';
import type { EventSummary, LogReport, VerificationReport } from './report.ts';
import { type FindingSeverity, SEVERITY } from './verdict.ts';

/** Most events the HTML report keeps for its timelines (`keepEvents`); later ones are counted, not shown. */
export const HTML_MAX_EVENTS = 100_000;
/** Most statements drawn per log in the coverage picture (the largest and the failed ones first). */
const MAX_DRAWN_STATEMENTS = 40;

const WORDS = {
  PROVEN: {
    title: 'PROVEN — the log is complete and unchanged',
    plain:
      'Every event in this file is covered by a signature of a key you trust, nothing that signature covers is missing, and the log is time-stamped by an outside authority (or you accepted local anchors).',
  },
  INVALID: {
    title: 'INVALID — the log was altered, or cannot be read unambiguously',
    plain:
      'Something that a trusted signature covers was changed, removed, reordered or added to. Do not rely on this file; the problems are listed below, each with its line and event.',
  },
  UNPROVEN: {
    title: 'UNPROVEN — nothing was found wrong, but not everything is proven',
    plain:
      'No alteration was found, but some events are not bound to a key you trust or to an outside time-stamp, so they could have been changed without anyone noticing. The reasons are listed below.',
  },
} as const;

const SEV_WORD: Record<FindingSeverity, string> = { invalid: 'invalid', unproven: 'unproven', note: 'note' };

function sha256b64(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

/** Render the report; `name` is the input file's name as the user gave it. */
export function renderHtml(name: string, r: VerificationReport, generatedAt = new Date()): string {
  const csp = [
    "default-src 'none'",
    `style-src 'sha256-${sha256b64(REPORT_CSS)}'`,
    `script-src 'sha256-${sha256b64(REPORT_JS)}'`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const words = WORDS[r.verdict];
  const invalid = r.findings.filter((f) => SEVERITY[f.code] === 'invalid').length;
  const unproven = r.findings.filter((f) => SEVERITY[f.code] === 'unproven').length;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${e(csp)}">
<meta name="referrer" content="no-referrer">
<title>${e(`${r.verdict}: vcp verify ${name}`)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main id="main">
<header class="verdict ${r.verdict.toLowerCase()}" id="verdict">
<p class="kicker">Verification report · ${e(name)}</p>
<h1>${e(words.title)}</h1>
<p class="plain">${e(words.plain)}</p>
<p class="summary">${e(r.summary)}</p>
<p class="counts">${invalid} problem(s) · ${unproven} unproven point(s) · exit code ${r.exit_code}</p>
</header>
<section aria-labelledby="h-what">
<h2 id="h-what">What was checked</h2>
<dl class="facts">
<dt>File</dt><dd>${e(name)}</dd>
<dt>Report made</dt><dd>${e(generatedAt.toISOString())}</dd>
<dt>Trusted keys</dt><dd>${r.trusted_keys.length ? r.trusted_keys.map((k) => `<code>${e(k)}</code>`).join(', ') : '<strong>none</strong> — no --pubkey was given, so nothing can be proven'}</dd>
${renderSource(r)}
<dt>Input</dt><dd>${r.input.events} events, ${r.input.anchors} anchors, ${r.input.checkpoints} checkpoints, ${r.input.segments} log(s), ${r.input.lines} lines</dd>
<dt>Convention</dt><dd>${e(r.profile.name)} — ${e(r.profile.producer)}${r.profile.weaker_than_rfc8785 ? ` <strong>(weaker than RFC 8785: ${e(r.profile.weaker_than_rfc8785)})</strong>` : ''}</dd>
</dl>
${r.logs.map(renderLog).join('\n')}
</section>
<section aria-labelledby="h-counts" class="page">
<h2 id="h-counts">Counts</h2>
${renderTypes(r.event_types)}
${renderChecks(r)}
</section>
<section aria-labelledby="h-findings" class="page">
<h2 id="h-findings">Findings (${r.findings.length + r.findings_omitted})</h2>
${renderFindings(r.findings, r.findings_omitted)}
</section>
<section aria-labelledby="h-timelines" class="page" id="timelines">
<h2 id="h-timelines">Timelines per trace</h2>
${
  r.events
    ? `<p class="muted">${r.events.length} event(s) shown${r.events_omitted ? `; ${r.events_omitted} later event(s) are not shown (the report keeps at most ${HTML_MAX_EVENTS})` : ''}. Traces with problems come first.</p>
<noscript><p>The timelines need JavaScript (the script is part of this file; nothing is loaded from anywhere). Every problem is also listed in the findings above, with its line and event.</p></noscript>
<div id="timeline-root"></div>
<script type="application/json" id="vcp-report-data">${jsonForHtml(timelineData(r))}</script>`
    : '<p class="muted">No event summaries were kept for this report.</p>'
}
</section>
</main>
<script>${REPORT_JS}</script>
</body>
</html>
`;
}

/** Where the input came from: a file, or an evidence-pack folder and the role each of its files played. */
function renderSource(r: VerificationReport): string {
  const src = r.source;
  if (src?.kind !== 'evidence-pack') return '';
  const files = (src.files ?? []).slice(0, 100);
  return `<dt>Evidence pack</dt><dd><code>${e(src.path)}</code>${src.events_file ? ` — events from <code>${e(src.events_file)}</code>` : ''}${
    files.length
      ? `<ul class="plain">${files.map((f) => `<li><code>${e(f.path)}</code>: ${e(f.role)}</li>`).join('')}</ul>`
      : ''
  }</dd>`;
}

function renderLog(l: LogReport): string {
  const p = l.proven_up_to;
  const x = l.external_anchor;
  const end = l.from + l.events;
  return `<section class="log" aria-label="log ${e(l.origin)}">
<h3>Log <code>${e(l.origin)}</code>${l.partition !== undefined ? ` (partition ${l.partition})` : ''}</h3>
<dl class="facts">
<dt>Events</dt><dd>${l.events} (leaves ${l.from}..${Math.max(l.from, end - 1)}), ${e(l.merkle_mode)}${l.to !== undefined ? `; declared range ${l.from}..${l.to - 1}` : ''}</dd>
${l.root ? `<dt>Root</dt><dd><code>${e(l.root)}</code></dd>` : ''}
<dt>Complete up to</dt><dd>${
    p
      ? `tree size <strong>${p.treeSize}</strong> — ${e(p.via)} signed${p.signedAt ? ` at ${e(p.signedAt)}` : ''} by key <code>${e(p.keyId)}</code> (line ${p.line})`
      : '<strong>not bound to any trusted signature</strong>'
  }</dd>
<dt>External time-stamp</dt><dd>${
    x
      ? `up to tree size <strong>${x.treeSize}</strong> at ${e(x.genTime)} by ${e(x.authority)}`
      : '<strong>none checked</strong> — no anchor of this log is verified at an outside time-stamp authority'
  }</dd>
${l.consistent_with_external !== undefined ? `<dt>Out-of-band checkpoint</dt><dd>consistent with a trusted checkpoint of size ${l.consistent_with_external}</dd>` : ''}
</dl>
${coverageSvg(l)}
</section>`;
}

/** The coverage picture: the leaves present, then one bar per checkpoint/anchor over the leaves it covers. */
function coverageSvg(l: LogReport): string {
  const sorted = [...l.statements].sort(
    (a, b) => Number(a.trusted) - Number(b.trusted) || (b.tree_size ?? 0) - (a.tree_size ?? 0),
  );
  const drawn = sorted.slice(0, MAX_DRAWN_STATEMENTS).sort((a, b) => a.line - b.line);
  const present = l.from + l.events;
  const n = Math.max(1, present, ...drawn.map((s) => s.tree_size ?? 0));
  const W = 1000;
  const left = 300;
  const bar = W - left - 10;
  const row = 22;
  const xOf = (i: number) => left + (bar * i) / n;
  const rows: string[] = [];
  let y = 28;
  rows.push(
    `<text x="0" y="${y + 14}" class="lbl">events in the file</text><rect x="${xOf(l.from)}" y="${y}" width="${Math.max(1, xOf(present) - xOf(l.from))}" height="16" class="ev"/>`,
  );
  const covered = l.proven_up_to?.treeSize ?? 0;
  if (covered < present)
    rows.push(
      `<rect x="${xOf(Math.max(covered, l.from))}" y="${y}" width="${Math.max(1, xOf(present) - xOf(Math.max(covered, l.from)))}" height="16" class="gap"><title>leaves ${Math.max(covered, l.from)}..${present - 1} are not covered by a trusted signature</title></rect>`,
    );
  for (const s of drawn) {
    y += row;
    const size = s.tree_size;
    const cls = !s.trusted ? 'untrusted' : s.external ? 'external' : 'trusted';
    const what = `${s.kind} (line ${s.line})`;
    const status = !s.trusted ? 'NOT trusted' : s.external ? 'trusted, external time-stamp' : 'trusted';
    const label = `${what}: ${size ?? '?'} · ${status}`;
    rows.push(
      `<text x="0" y="${y + 14}" class="lbl ${cls}">${e(label)}</text>` +
        (size !== undefined
          ? `<rect x="${left}" y="${y}" width="${Math.max(1, xOf(size) - left)}" height="16" class="${cls}"><title>${e(`${what} covers leaves 0..${size - 1}; ${status}${s.signed_at ? `; signed ${s.signed_at}` : ''}`)}</title></rect>`
          : ''),
    );
  }
  y += row + 6;
  const axis = `<line x1="${left}" y1="${y}" x2="${left + bar}" y2="${y}" class="axis"/><text x="${left}" y="${y + 14}" class="tick">0</text><text x="${left + bar}" y="${y + 14}" class="tick end">${n}</text>`;
  const more =
    l.statements.length > drawn.length
      ? `<p class="muted">${l.statements.length - drawn.length} more statement(s) not drawn.</p>`
      : '';
  return `<figure class="coverage">
<figcaption>Which leaves each checkpoint and anchor covers (leaf 0 on the left). Green: trusted; dark green: trusted and externally time-stamped; red: not trusted; hatched: leaves no trusted signature covers.</figcaption>
<svg viewBox="0 0 ${W} ${y + 22}" role="img" aria-label="${e(`coverage of ${l.origin}: ${l.statements.length} statements over ${present} leaves`)}">
<text x="${left}" y="14" class="tick">leaves →</text>
${rows.join('\n')}
${axis}
</svg>${more}
</figure>`;
}

function renderTypes(types: Record<string, number>): string {
  const entries = Object.entries(types).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return '<p class="muted">No events.</p>';
  const max = Math.max(...entries.map(([, n]) => n));
  const h = 22;
  const bars = entries
    .map(
      ([t, n], i) =>
        `<text x="0" y="${i * h + 15}" class="lbl">${e(t)}</text><rect x="120" y="${i * h + 2}" width="${Math.max(1, (600 * n) / max)}" height="16" class="ev"/><text x="${128 + (600 * n) / max}" y="${i * h + 15}" class="lbl">${n}</text>`,
    )
    .join('');
  return `<h3>Events per type</h3>
<svg viewBox="0 0 820 ${entries.length * h + 4}" role="img" aria-label="events per type" class="types">${bars}</svg>
<table class="compact"><thead><tr><th scope="col">Type</th><th scope="col">Events</th></tr></thead><tbody>${entries.map(([t, n]) => `<tr><td>${e(t)}</td><td>${n}</td></tr>`).join('')}</tbody></table>`;
}

function renderChecks(r: VerificationReport): string {
  const rows = CHECK_NAMES.map((c) => {
    const k = r.checks[c];
    const cls = k.invalid ? 'bad' : k.unproven ? 'warn' : '';
    return `<tr class="${cls}"><th scope="row">${e(c)}</th><td>${k.passed}</td><td>${k.invalid}</td><td>${k.unproven}</td><td>${k.notes}</td></tr>`;
  }).join('');
  return `<h3>Checks</h3>
<table class="compact"><thead><tr><th scope="col">Check</th><th scope="col">Passed</th><th scope="col">Invalid</th><th scope="col">Unproven</th><th scope="col">Notes</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function renderFindings(findings: Finding[], omitted: number): string {
  if (findings.length === 0) return '<p>No findings.</p>';
  const rows = findings
    .map((f) => {
      const sev = SEVERITY[f.code];
      return `<tr class="${sev}"><td><span class="sev ${sev}">${SEV_WORD[sev]}</span></td><td><code>${e(f.code)}</code><br><span class="muted">${e(f.check)}</span></td><td>${f.line ?? ''}</td><td>${f.event_id ? `<code>${e(f.event_id)}</code>` : ''}</td><td>${e(f.message)}</td></tr>`;
    })
    .join('\n');
  return `<div class="scroll"><table class="findings"><thead><tr><th scope="col">Severity</th><th scope="col">Finding</th><th scope="col">Line</th><th scope="col">Event</th><th scope="col">What it means</th></tr></thead><tbody>
${rows}
</tbody></table></div>${omitted ? `<p class="muted">… and ${omitted} more findings (use --json for all).</p>` : ''}`;
}

/** The timelines' data: events as rows of columns (compact for 100 000 events), findings by line. */
function timelineData(r: VerificationReport): unknown {
  const origins: string[] = [];
  const originIndex = new Map<string, number>();
  const rows = (r.events ?? []).map((ev: EventSummary) => {
    let o = originIndex.get(ev.origin);
    if (o === undefined) {
      o = origins.push(ev.origin) - 1;
      originIndex.set(ev.origin, o);
    }
    return [
      ev.line,
      ev.leaf,
      o,
      ev.event_id ?? '',
      ev.trace_id ?? '',
      ev.event_type ?? '',
      ev.timestamp_iso ?? '',
      ev.symbol ?? '',
      tradeText(ev.trade),
    ];
  });
  const byLine: Record<string, [string, string, string][]> = {};
  for (const f of r.findings) {
    if (!f.line || SEVERITY[f.code] === 'note') continue;
    const list = byLine[f.line] ?? [];
    byLine[f.line] = list;
    if (list.length < 5) list.push([SEVERITY[f.code], f.code, f.message]);
  }
  // Leaves below this size (per origin) are bound to a trusted signature.
  const covered = origins.map((o) => r.logs.find((l) => l.origin === o)?.proven_up_to?.treeSize ?? 0);
  return {
    covered,
    cols: [
      'line',
      'leaf',
      'origin',
      'event_id',
      'trace_id',
      'event_type',
      'timestamp_iso',
      'symbol',
      'trade',
    ],
    origins,
    rows,
    findings: byLine,
  };
}

function tradeText(t: Record<string, string> | undefined): string {
  if (!t) return '';
  const qty = t.executed_qty ?? t.quantity;
  const px = t.executed_price ?? t.price;
  const main = [t.side, qty, px ? `@ ${px}` : ''].filter(Boolean).join(' ');
  return [main, t.order_id ? `order ${t.order_id}` : '', t.reject_reason ? `reason ${t.reject_reason}` : '']
    .filter(Boolean)
    .join(' · ');
}
