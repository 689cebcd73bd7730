/**
 * The report as text for a terminal: the verdict first, in words; what each
 * log is proven up to; counts per check; then the findings, each with its
 * line and event. Formats only: every decision was made in `verdict.ts`.
 */
import { CHECK_NAMES, type Finding } from './findings.ts';
import type { VerificationReport } from './report.ts';
import { SEVERITY } from './verdict.ts';

const MARK = { invalid: '✗', unproven: '?', note: '·' } as const;

/** One finding as a line. */
export function formatFinding(f: Finding): string {
  const where = [f.line ? `line ${f.line}` : undefined, f.event_id].filter(Boolean).join(' ');
  return `  ${MARK[SEVERITY[f.code]]} ${where ? `${where} ` : ''}[${f.code}] ${f.message}`;
}

/** The whole report as text (ends with a newline). */
export function renderText(name: string, r: VerificationReport, maxListed = 50): string {
  const out: string[] = [`vcp verify ${name}`];
  out.push(`  verdict  ${r.verdict} (exit ${r.exit_code})`);
  if (r.source?.kind === 'evidence-pack')
    for (const f of r.source.files ?? []) out.push(`  file     ${f.path}: ${f.role}`);
  out.push(
    `  input    ${r.input.events} events, ${r.input.anchors} anchors, ${r.input.checkpoints} checkpoints, ${r.input.segments} log(s)`,
  );
  out.push(
    `  profile  ${r.profile.name} (${r.profile.producer})${r.profile.weaker_than_rfc8785 ? `\n           weaker than RFC 8785: ${r.profile.weaker_than_rfc8785}` : ''}`,
  );
  out.push(`  keys     ${r.trusted_keys.length ? r.trusted_keys.join(', ') : 'none trusted (--pubkey)'}`);
  for (const l of r.logs) {
    const p = l.proven_up_to;
    out.push(
      `  log      ${l.origin}${l.partition !== undefined ? ` (partition ${l.partition})` : ''}: leaves ${l.from}..${l.from + l.events - 1}, ${l.merkle_mode}${l.root ? ` root ${l.root}` : ''}`,
    );
    out.push(
      p
        ? `           complete up to tree size ${p.treeSize}: ${p.via} signed${p.signedAt ? ` at ${p.signedAt}` : ''} by key ${p.keyId} (line ${p.line})`
        : '           not bound to any trusted signature',
    );
    if (l.external_anchor)
      out.push(
        `           externally time-stamped up to ${l.external_anchor.treeSize} at ${l.external_anchor.genTime} by ${l.external_anchor.authority}`,
      );
    if (l.consistent_with_external !== undefined)
      out.push(
        `           consistent with a trusted out-of-band checkpoint of size ${l.consistent_with_external}`,
      );
  }
  out.push('  checks   passed / invalid / unproven / notes');
  for (const c of CHECK_NAMES) {
    const k = r.checks[c];
    if (k.passed + k.invalid + k.unproven + k.notes === 0) continue;
    out.push(`    ${c.padEnd(13)} ${k.passed} / ${k.invalid} / ${k.unproven} / ${k.notes}`);
  }
  for (const f of r.findings.slice(0, maxListed)) out.push(formatFinding(f));
  const more = r.findings.length - Math.min(maxListed, r.findings.length) + r.findings_omitted;
  if (more > 0) out.push(`  … and ${more} more findings (use --json for all)`);
  out.push(r.summary);
  return `${out.join('\n')}\n`;
}
