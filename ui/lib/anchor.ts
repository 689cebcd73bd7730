/**
 * An anchor record checked in the browser: its Ed25519 signature over the raw
 * root bytes by the pinned key, and its root and tree size against the signed
 * checkpoint it travels with. Its RFC 3161 token is not checked here (that
 * needs the TSA's certificate chain): `vcp verify --tsa-cert` checks it.
 */
import { fromBase64, fromHex } from './bytes.ts';
import type { Checkpoint } from './checkpoint.ts';
import { type PinnedKey, verifyEd25519 } from './keys.ts';

/** The outcome for one anchor record. */
export interface AnchorCheck {
  ok: boolean;
  detail: string;
}

/** Check `anchor` against `checkpoint` and `key`. Never throws. */
export async function checkAnchorRecord(
  anchor: Record<string, unknown>,
  checkpoint: Checkpoint,
  key: PinnedKey,
): Promise<AnchorCheck> {
  if (anchor.tree_size !== checkpoint.treeSize || anchor.merkle_root !== checkpoint.rootHex)
    return {
      ok: false,
      detail: `its root or tree size (${String(anchor.tree_size)}) is not the checkpoint's`,
    };
  if (anchor.signing_key_id !== key.keyId)
    return { ok: false, detail: `signed by key ${String(anchor.signing_key_id)}, not the pinned key` };
  const sig = fromBase64(anchor.signature);
  const root = fromHex(anchor.merkle_root);
  if (!sig || !root || !(await verifyEd25519(key.raw, sig, root)))
    return { ok: false, detail: 'its signature over the root does not verify under the pinned key' };
  return { ok: true, detail: 'signed by the pinned key over the checkpoint’s root' };
}
