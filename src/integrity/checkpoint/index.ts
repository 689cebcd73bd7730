/**
 * Signed checkpoints: C2SP signed notes and tlog checkpoints, shared by the
 * sidecar (anchors, exports, `GET /vcp/checkpoint`), the recorder's FileSink,
 * `vcp fix-replay` and `vcp verify`.
 */
export {
  type Checkpoint,
  type CheckpointDraft,
  type CheckpointVerification,
  formatCheckpoint,
  metaHash,
  parseCheckpointText,
  signCheckpoint,
  verifyCheckpoint,
} from './checkpoint.ts';
export {
  findTrustedNoteSignature,
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  type NoteSignature,
  noteKeyHash,
  noteVerifierKey,
  parseSignedNote,
  type SignedNote,
  signNote,
} from './signed-note.ts';
