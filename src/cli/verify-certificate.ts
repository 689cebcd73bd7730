/**
 * `vcp verify <certificate.jsonl>`: an evidence certificate (the console's,
 * format `vcp-certificate`) is recognised by its first line and checked by
 * `CertificateVerifier`; same options, verdicts, exit codes and renderers as
 * an export. Also the HTML report writer both paths share.
 */
import { open, rename, unlink, writeFile } from 'node:fs/promises';
import { CERTIFICATE_PREFIX, CertificateVerifier } from '../verify/certificate.ts';
import { readFileLines, renderText, type VerificationReport, type VerifyOptions } from '../verify/index.ts';
import { HTML_MAX_EVENTS, renderHtml } from '../verify/render-html.ts';
import { type CliIo, UsageError } from './io.ts';

/** Does the file start like a certificate? (Reads its first bytes only.) */
export async function isCertificateFile(path: string): Promise<boolean> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(path, 'r');
    const buf = Buffer.alloc(CERTIFICATE_PREFIX.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8') === CERTIFICATE_PREFIX;
  } catch {
    return false; // the export path reports why the file cannot be read
  } finally {
    await fh?.close();
  }
}

/** Write the HTML report beside its final name, then rename: never a half-written report. */
export async function writeHtmlReport(path: string, name: string, report: VerificationReport): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, renderHtml(name, report));
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {}); // never leave a half-written or orphaned report behind
    throw new UsageError(
      `cannot write --html ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** Verify a certificate and print the report; resolves to the exit code. */
export async function verifyCertificateFile(
  file: string,
  name: string,
  options: VerifyOptions,
  out: { json: boolean; html: string | undefined; outOfBand: boolean; maxLineBytes: number },
  io: CliIo,
): Promise<number> {
  if (out.outOfBand)
    throw new UsageError(
      '--anchors, --checkpoint and --sidecar do not apply to a certificate: it proves that its events are in the log, not that the log is the newest; verify an export for that',
    );
  let v: CertificateVerifier;
  try {
    v = new CertificateVerifier({ ...options, ...(out.html ? { keepEvents: HTML_MAX_EVENTS } : {}) });
  } catch (e) {
    throw new UsageError(`a --pubkey could not be loaded: ${(e as Error).message}`);
  }
  try {
    await v.pushAll(readFileLines(file, out.maxLineBytes));
  } catch (e) {
    throw new UsageError(`cannot read ${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const report = await v.finish();
  report.source = { path: file, kind: 'file' };
  if (out.html) await writeHtmlReport(out.html, name, report);
  if (out.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else io.out(renderText(name, report));
  return report.exit_code;
}
