/**
 * The HTML renderer only formats, and formats safely: every string of the
 * report escaped wherever it lands (text, attributes, SVG, the JSON block),
 * the inline script and style allowed by exactly their SHA-256 in the CSP,
 * nothing that loads from elsewhere.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { finding } from '../../src/verify/findings.ts';
import { renderHtml } from '../../src/verify/render-html.ts';
import { emptyChecks, type VerificationReport } from '../../src/verify/report.ts';

const X = `"'><script>alert(1)</script><img src=x onerror=alert(2)><svg onload=alert(3)>&amp;\u2028</script>`;

function hostileReport(): VerificationReport {
  const checks = emptyChecks();
  checks.event_hash.invalid = 1;
  return {
    verdict: 'INVALID',
    exit_code: 1,
    summary: `INVALID: ${X}`,
    profile: { name: `vcp-1.1${X}`, producer: X, merkle_mode: 'rfc6962', weaker_than_rfc8785: X },
    trusted_keys: [X],
    input: { lines: 3, events: 1, anchors: 0, checkpoints: 1, segments: 1 },
    logs: [
      {
        origin: X,
        merkle_mode: 'rfc6962',
        from: 0,
        events: 1,
        root: X,
        proven_up_to: { treeSize: 1, via: 'checkpoint', line: 3, keyId: X, signedAt: X },
        external_anchor: { treeSize: 1, line: 3, genTime: X, authority: X },
        statements: [
          { kind: 'checkpoint', line: 3, tree_size: 1, trusted: false, external: false, signed_at: X },
        ],
      },
    ],
    event_types: { [X]: 1 },
    checks,
    findings: [finding('hash-mismatch', X, { line: 2, event_id: X })],
    findings_omitted: 0,
    events: [
      {
        line: 2,
        origin: X,
        leaf: 0,
        event_id: X,
        trace_id: X,
        event_type: X,
        timestamp_iso: X,
        symbol: X,
        trade: { order_id: X, side: X },
      },
    ],
    events_omitted: 0,
  } as VerificationReport;
}

describe('renderHtml', () => {
  const html = renderHtml(X, hostileReport(), new Date(0));

  it('escapes every string from the input: no element or attribute it could inject', () => {
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<svg onload');
    // No element with an event-handler attribute (quoted attribute values, all escaped, set aside).
    expect(html.replace(/"[^"]*"/g, '""')).not.toMatch(/<[a-z][^<>]*\son[a-z]+=/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // Exactly two <script> elements: the JSON data block and the hashed timeline script.
    expect(html.match(/<script\b/g)).toHaveLength(2);
    const data = /<script type="application\/json" id="vcp-report-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(data).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(data).rows[0][3]).toBe(X);
  });

  it('allows its inline script and style by their SHA-256, and nothing from anywhere else', () => {
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/
      .exec(html)![1]!
      .replace(/&#39;/g, "'");
    expect(csp).toContain("default-src 'none'");
    const script = /<script>([\s\S]*?)<\/script>\n<\/body>/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const sha = (t: string) => createHash('sha256').update(t, 'utf8').digest('base64');
    expect(csp).toContain(`script-src 'sha256-${sha(script)}'`);
    expect(csp).toContain(`style-src 'sha256-${sha(style)}'`);
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(csp).not.toContain('unsafe');
  });

  it('says the verdict in words first, and draws an untrusted statement in red', () => {
    expect(html.indexOf('INVALID — the log was altered')).toBeLessThan(html.indexOf('What was checked'));
    expect(html).toContain('class="untrusted"');
  });
});
