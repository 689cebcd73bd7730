/**
 * Question: what does `vcp verify --html` cost on a 100,000-event export (the report's documented limit),
 * against the same verification without the HTML report, and how fast does the report open and page in
 * Chromium?
 *
 * Prints: verify time plain / with --html (ratio), the HTML's size, peak RSS, and in Chromium (Debian's
 * /usr/bin/chromium, skipped when absent) the time to the first timeline page, to the next page, and to
 * filter to one trace. Run: `node bench/report-html.ts`. The export (order flows SIG → ORD → ACK → EXE,
 * 25,000 traces, anchors every 10,000, closing checkpoint) is built once in the temp folder.
 */
import { createWriteStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEvent } from '../src/core/builder.ts';
import { createPolicy } from '../src/core/policy.ts';
import { uuidv7 } from '../src/core/uuidv7.ts';
import { createAnchorRecord } from '../src/integrity/anchor-record.ts';
import { signCheckpoint } from '../src/integrity/checkpoint/index.ts';
import { MerkleTree } from '../src/integrity/merkle/index.ts';
import { sealEvent } from '../src/integrity/seal.ts';
import { createSigner } from '../src/integrity/sign.ts';
import { readFileLines, Verifier } from '../src/verify/index.ts';
import { HTML_MAX_EVENTS, renderHtml } from '../src/verify/render-html.ts';

const N = HTML_MAX_EVENTS;
const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const signer = createSigner(SEED);

async function buildExport(path: string): Promise<void> {
  const policy = createPolicy({ policyId: 'com.example:bench', tier: 'GOLD' });
  const origin = 'vcp-instrument/bench-report';
  const meta = {
    format: 'vcp-export',
    version: 2,
    origin,
    producer: 'bench',
    merkle_mode: 'rfc6962',
    from: 0,
    to: N,
    tree_size: N,
  };
  const out = createWriteStream(`${path}.tmp`);
  const write = (s: string) =>
    out.write(`${s}\n`) ? undefined : new Promise<void>((r) => out.once('drain', () => r()));
  await write(JSON.stringify({ vcp_export: meta }));
  const tree = new MerkleTree();
  const anchors: string[] = [];
  let traceId = uuidv7();
  for (let i = 0; i < N; i++) {
    const type = (['SIG', 'ORD', 'ACK', 'EXE'] as const)[i % 4]!;
    if (i % 4 === 0) traceId = uuidv7();
    const trade = {
      order_id: `ORD-${i >> 2}`,
      side: 'BUY',
      order_type: 'LIMIT',
      price: '1.0850',
      quantity: '100000',
    };
    const e = sealEvent(
      buildEvent(type, type === 'SIG' ? {} : { trade_data: trade }, {
        policy,
        traceId,
        venueId: 'XLON',
        accountId: 'ACC-1',
        symbol: i % 8 < 4 ? 'EURUSD' : 'GBPUSD',
      }),
    );
    e.security.merkle_index = tree.append(e.security.event_hash);
    await write(JSON.stringify(e));
    if ((i + 1) % 10_000 === 0)
      anchors.push(
        JSON.stringify({
          anchor_record: createAnchorRecord(
            {
              merkle_root: tree.root(),
              tree_size: tree.size,
              merkle_mode: 'rfc6962',
              event_count: 10_000,
              first_event_id: '',
              last_event_id: e.header.event_id,
              policy_id: policy.policy_id,
            },
            { signer },
          ),
        }),
      );
  }
  for (const a of anchors) await write(a);
  await write(
    JSON.stringify({
      vcp_checkpoint: { note: signCheckpoint({ origin, treeSize: N, rootHex: tree.root(), meta }, signer) },
    }),
  );
  await new Promise<void>((r) => out.end(r));
  await rename(`${path}.tmp`, path);
}

async function verify(path: string, keepEvents: number) {
  const t0 = performance.now();
  const v = new Verifier({ publicKeys: [signer.publicKey], allowLocalAnchors: true, keepEvents });
  await v.pushAll(readFileLines(path, 1 << 20));
  const report = await v.finish();
  return { report, ms: performance.now() - t0 };
}

export async function run(): Promise<void> {
  const path = join(tmpdir(), `vcp-bench-report-${N}.jsonl`);
  if (!existsSync(path)) await buildExport(path);
  const plain = await verify(path, 0);
  const withEvents = await verify(path, N);
  const t1 = performance.now();
  const html = renderHtml('bench.jsonl', withEvents.report);
  const renderMs = performance.now() - t1;
  const htmlPath = join(tmpdir(), 'vcp-bench-report.html');
  writeFileSync(htmlPath, html);
  const rss = process.memoryUsage().rss;
  console.log(`report-html: ${N} events, verdict ${withEvents.report.verdict}`);
  console.log(
    `  verify plain            ${plain.ms.toFixed(0)} ms (${((N / plain.ms) * 1000).toFixed(0)} events/s)`,
  );
  console.log(
    `  verify keeping events   ${withEvents.ms.toFixed(0)} ms (ratio ${(withEvents.ms / plain.ms).toFixed(2)})`,
  );
  console.log(
    `  render HTML             ${renderMs.toFixed(0)} ms; file ${(statSync(htmlPath).size / 2 ** 20).toFixed(1)} MiB; RSS ${(rss / 2 ** 20).toFixed(0)} MiB`,
  );
  console.log(
    `  verify --html in all    ${(withEvents.ms + renderMs).toFixed(0)} ms (ratio to plain ${((withEvents.ms + renderMs) / plain.ms).toFixed(2)})`,
  );
  if (!existsSync('/usr/bin/chromium')) {
    console.log('  Chromium: /usr/bin/chromium missing, browser timings skipped');
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage();
    const t2 = performance.now();
    await page.goto(`file://${htmlPath}`);
    await page.waitForSelector('body[data-timelines="ready"]', { timeout: 120_000 });
    const openMs = performance.now() - t2;
    const t3 = performance.now();
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.waitForFunction("document.querySelector('.pager .muted')?.textContent?.includes('page 2 of')");
    const nextMs = performance.now() - t3;
    const t4 = performance.now();
    await page.locator('#trace-filter').fill('ORD-24999');
    await page.waitForFunction("document.querySelectorAll('section.trace').length === 1");
    const filterMs = performance.now() - t4;
    const info = await page.locator('.pager .muted').textContent();
    console.log(
      `  Chromium: open to first page ${openMs.toFixed(0)} ms; next page ${nextMs.toFixed(0)} ms; filter to one trace ${filterMs.toFixed(0)} ms (${info})`,
    );
  } finally {
    await browser.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
