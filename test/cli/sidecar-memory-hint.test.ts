import { describe, expect, it } from 'vitest';
import { sidecarMemoryHint } from '../../src/cli/sidecar-memory-hint.ts';
import { startChild, tempDir } from '../sidecar/helpers.ts';

describe('sidecarMemoryHint', () => {
  it("names both settings on Node's and glibc's defaults", () => {
    const hint = sidecarMemoryHint([], {});
    expect(hint).toContain('NODE_OPTIONS=--max-semi-space-size=8 MALLOC_ARENA_MAX=2');
    expect(hint).toContain('docs/sidecar-api.md#memory');
  });

  it('leaves out MALLOC_ARENA_MAX when the operator set it', () => {
    expect(sidecarMemoryHint([], { MALLOC_ARENA_MAX: '4' })).not.toContain('MALLOC_ARENA_MAX');
  });

  it('says nothing when the young generation is set, in any spelling V8 takes', () => {
    expect(sidecarMemoryHint(['--max-semi-space-size=8'], {})).toBeUndefined();
    expect(sidecarMemoryHint(['--max-semi-space-size', '16'], {})).toBeUndefined();
    expect(sidecarMemoryHint(['--max_semi_space_size=4'], {})).toBeUndefined();
    expect(
      sidecarMemoryHint([], { NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=8' }),
    ).toBeUndefined();
  });

  it('is not fooled by a similar flag', () => {
    expect(sidecarMemoryHint(['--max-old-space-size=512'], {})).toContain('--max-semi-space-size=8');
    expect(sidecarMemoryHint([], { NODE_OPTIONS: '--max-semi-space-sizes=8' })).toContain('NODE_OPTIONS');
  });
});

describe('vcp sidecar at start', () => {
  const started = async (env: Record<string, string>) => {
    const { dir, cleanup } = tempDir();
    const child = await startChild(['--port', '0', '--data-dir', dir], env);
    child.proc.kill('SIGTERM');
    await child.exited;
    cleanup();
    return child.stderr();
  };

  it('logs the hint once on the default young generation, and not when NODE_OPTIONS sets it', async () => {
    const bare = await started({ NODE_OPTIONS: '' });
    expect(bare.match(/vcp sidecar: memory: /g)).toHaveLength(1);
    expect(bare).toContain('NODE_OPTIONS=--max-semi-space-size=8');
    const tuned = await started({ NODE_OPTIONS: '--max-semi-space-size=8' });
    expect(tuned).toContain('listening on');
    expect(tuned).not.toContain('memory:');
  }, 30_000);
});
