/**
 * Evidence certificates: a small JSON Lines file holding some events, an
 * RFC 6962 inclusion proof for each, the signed checkpoint they lead to and
 * the anchor records of that checkpoint, which `vcp verify` checks on its own
 * (src/verify/certificate.ts). Format `vcp-certificate` version 1:
 *
 * ```text
 * {"vcp_certificate":{"format":"vcp-certificate","version":1,"origin":…,"merkle_mode":"rfc6962","tree_size":N,"subject":{"kind":"event"|"trace","id":…},"created_at":…}}
 * {"vcp_checkpoint":{"note":"<signed note>"}}
 * {"header":…,"payload":…,"security":…}            one event
 * {"vcp_inclusion":{"event_id":…,"leaf_index":i,"tree_size":N,"proof":[hex…]}}   its proof
 * …
 * {"anchor_record":{…}}                               anchors of the checkpoint (RFC 3161 receipts)
 * ```
 *
 * A certificate proves inclusion of what it holds, not that nothing else
 * exists (e.g. other events of the trace): for completeness, verify an export.
 */
import type { Checkpoint } from './checkpoint.ts';
import type { EventJson } from './evidence.ts';

/** Format name and version written in the first line. */
export const CERTIFICATE_FORMAT = { format: 'vcp-certificate', version: 1 } as const;

/** What goes in a certificate. */
export interface CertificateInput {
  subject: { kind: 'event' | 'trace'; id: string };
  checkpointNote: string;
  checkpoint: Checkpoint;
  items: { event: EventJson; leafIndex: number; proof: string[] }[];
  /** Anchor records whose tree size is the checkpoint's. */
  anchors: unknown[];
  createdAt: string;
}

/** The certificate as JSON Lines text (ends in a newline). */
export function buildCertificate(c: CertificateInput): string {
  const meta: Record<string, unknown> = {
    ...CERTIFICATE_FORMAT,
    origin: c.checkpoint.origin,
    merkle_mode: c.checkpoint.mode,
    tree_size: c.checkpoint.treeSize,
    subject: c.subject,
    created_at: c.createdAt,
  };
  if (c.checkpoint.partition !== undefined) meta.partition = c.checkpoint.partition;
  const lines = [
    JSON.stringify({ vcp_certificate: meta }),
    JSON.stringify({ vcp_checkpoint: { note: c.checkpointNote } }),
  ];
  for (const it of c.items) {
    lines.push(JSON.stringify(it.event));
    lines.push(
      JSON.stringify({
        vcp_inclusion: {
          event_id: it.event.header?.event_id,
          leaf_index: it.leafIndex,
          tree_size: c.checkpoint.treeSize,
          proof: it.proof,
        },
      }),
    );
  }
  for (const a of c.anchors) lines.push(JSON.stringify({ anchor_record: a }));
  return `${lines.join('\n')}\n`;
}
