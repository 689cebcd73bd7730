/**
 * Local verification of one event's evidence, in the browser: the event's
 * hash recomputed from its header and payload, the inclusion proof walked to
 * a root with SHA-256, and that root compared with a checkpoint whose Ed25519
 * signature is checked against the pinned key. Nothing the server says about
 * validity is read: only the data it sends, which every step re-derives.
 */
import { fromBase64, fromHex } from './bytes.ts';
import { type Checkpoint, checkCheckpoint } from './checkpoint.ts';
import { recomputeEventHash } from './event-hash.ts';
import { type PinnedKey, verifyEd25519 } from './keys.ts';
import { rootFromInclusion } from './merkle.ts';

/** An event as the API returns it. */
export interface EventJson {
  header?: Record<string, unknown>;
  payload?: Record<string, unknown>;
  security?: Record<string, unknown>;
  policy_identification?: Record<string, unknown>;
}

/** `GET /vcp/events/:id/proof` (only the fields read). */
export interface ProofJson {
  event_id?: unknown;
  event_hash?: unknown;
  merkle_index?: unknown;
  tree_size?: unknown;
  merkle_mode?: unknown;
  proof?: unknown;
}

/** One step of the check; `required: false` steps inform and never fail the whole. */
export interface Step {
  what: string;
  ok: boolean;
  required: boolean;
  detail: string;
}

/** The outcome for one event. */
export interface Evidence {
  /** Every required step passed. */
  verified: boolean;
  steps: Step[];
  checkpoint?: Checkpoint;
  eventHash?: string;
  leaf?: number;
}

/**
 * Check `event` against `proof` and the signed `checkpointNote` under `key`.
 * Several events against one checkpoint: pass `checked` (from {@link checkCheckpoint}) to check its signature once.
 */
export async function verifyEvidence(
  event: EventJson,
  proof: ProofJson,
  checkpointNote: string,
  key: PinnedKey,
  checked?: Awaited<ReturnType<typeof checkCheckpoint>>,
): Promise<Evidence> {
  const steps: Step[] = [];
  const step = (what: string, ok: boolean, detail: string, required = true) =>
    steps.push({ what, ok, required, detail });
  const sec = event.security ?? {};
  const claimed = typeof sec.event_hash === 'string' ? sec.event_hash : undefined;

  const re = await recomputeEventHash(event);
  if ('error' in re) step('event hash', false, re.error);
  else
    step(
      'event hash',
      re.hash === claimed,
      re.hash === claimed
        ? `SHA-256 of the canonical header and payload is ${re.hash}, as recorded`
        : `header or payload was changed: recomputed ${re.hash.slice(0, 16)}…, recorded ${String(claimed).slice(0, 16)}…`,
    );

  const index = proof.merkle_index;
  step(
    'proof names this event',
    proof.event_hash === claimed &&
      proof.event_id === event.header?.event_id &&
      (sec.merkle_index === undefined || sec.merkle_index === index),
    proof.event_hash === claimed
      ? `leaf ${String(index)}`
      : `the proof is for event hash ${String(proof.event_hash).slice(0, 16)}…, not this event's`,
  );

  const cp = checked ?? (await checkCheckpoint(checkpointNote, key));
  if (cp.ok)
    step(
      'checkpoint signature',
      true,
      `Ed25519 signature by the pinned key ${key.keyId} (${cp.signer}) over tree size ${cp.checkpoint.treeSize}${cp.checkpoint.time ? `, signed ${cp.checkpoint.time}` : ''}`,
    );
  else step('checkpoint signature', false, cp.reason);
  const checkpoint = cp.checkpoint;

  if (checkpoint) {
    if (checkpoint.mode !== 'rfc6962' || (proof.merkle_mode ?? 'rfc6962') !== 'rfc6962')
      step(
        'inclusion proof',
        false,
        `tree mode ${checkpoint.mode} is not checked in the browser (rfc6962 only)`,
      );
    else if (proof.tree_size !== checkpoint.treeSize)
      step(
        'inclusion proof',
        false,
        `the proof is to tree size ${String(proof.tree_size)}, the checkpoint signs ${checkpoint.treeSize}`,
      );
    else {
      const root = await rootFromInclusion(claimed, index, checkpoint.treeSize, proof.proof);
      step(
        'inclusion proof',
        root !== undefined && root === checkpoint.rootHex,
        root === undefined
          ? 'the proof is malformed (wrong length, index or hashes)'
          : root === checkpoint.rootHex
            ? `${(proof.proof as unknown[]).length} hashes lead from leaf ${String(index)} to the signed root ${root.slice(0, 16)}…`
            : `the proof leads to root ${root.slice(0, 16)}…, the checkpoint signs ${checkpoint.rootHex.slice(0, 16)}…`,
      );
    }
  } else step('inclusion proof', false, 'no readable checkpoint to check it against');

  // The recorder's own per-event signature: informative unless it is by the pinned key.
  if (typeof sec.signature === 'string') {
    const mine = sec.signing_key_id === key.keyId;
    const sig = fromBase64(sec.signature);
    const hash = fromHex(claimed);
    const ok = mine && !!sig && !!hash && (await verifyEd25519(key.raw, sig, hash));
    step(
      'event signature',
      ok,
      mine
        ? ok
          ? 'signed by the pinned key over the event hash'
          : 'the signature by the pinned key does not verify'
        : `signed by key ${String(sec.signing_key_id)}, not the pinned key: not checked`,
      mine,
    );
  }
  const verified = steps.every((s) => s.ok || !s.required);
  return {
    verified,
    steps,
    ...(checkpoint ? { checkpoint } : {}),
    ...(claimed ? { eventHash: claimed } : {}),
    ...(typeof index === 'number' ? { leaf: index } : {}),
  };
}
