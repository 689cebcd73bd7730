import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { runSidecar } from '../../src/cli/sidecar-command.ts';
import { startChild, tempDir, v11Event } from './helpers.ts';

function io(env: Record<string, string> = {}, cwd = '/'): CliIo & { text: () => string } {
  const out: string[] = [];
  return {
    out: (t) => out.push(t),
    err: (t) => out.push(t),
    errIsTty: false,
    env,
    cwd,
    text: () => out.join(''),
  };
}

describe('vcp sidecar', () => {
  it('is registered and documents every option with its environment variable', async () => {
    const o = io();
    expect(await main(['sidecar', '--help'], o)).toBe(0);
    expect(o.text()).toMatch(/--data-dir <v>[\s\S]*VCP_SIDECAR_DATA_DIR/);
    expect(o.text()).toMatch(/VCP_SIGNING_KEY_FILE/);
    const list = io();
    await main(['--help'], list);
    expect(list.text()).toMatch(/sidecar\s+collect, store, anchor and prove/);
  });

  it('refuses to bind a public address without a token (exit 2, says why)', async () => {
    const t = tempDir();
    try {
      const o = io({ VCP_SIDECAR_HOST: '0.0.0.0', VCP_SIDECAR_DATA_DIR: t.dir });
      expect(await main(['sidecar'], o)).toBe(2);
      expect(o.text()).toMatch(/refusing to listen on 0\.0\.0\.0 without a bearer token/);
      const bad = io();
      expect(await main(['sidecar', '--port', 'eighty'], bad)).toBe(2);
      expect(bad.text()).toMatch(/--port must be a non-negative integer/);
    } finally {
      t.cleanup();
    }
  });

  it('a SIGTERM sent the moment the ready line is read still gets the orderly shutdown (exit 0), five times over', async () => {
    // The handlers used to go in just after the line was written: 6 of 10 such sidecars died of the signal instead.
    for (let i = 0; i < 5; i++) {
      const t = tempDir();
      try {
        const s = await startChild(['--port', '0', '--data-dir', t.dir]);
        s.proc.kill('SIGTERM');
        expect(await s.exited).toEqual({ code: 0, signal: null });
      } finally {
        t.cleanup();
      }
    }
  });

  it('prints one JSON line once listening, serves, and stops cleanly when told to', async () => {
    const t = tempDir();
    try {
      const o = io({ VCP_SIDECAR_PORT: '0' }, t.dir);
      let stop!: () => void;
      const done = runSidecar(['--data-dir', 'data'], o, (s) => {
        stop = s;
      });
      while (!o.text().includes('"listening"')) await new Promise((r) => setTimeout(r, 10));
      const info = JSON.parse(
        o
          .text()
          .split('\n')
          .find((l) => l.startsWith('{"listening"'))!,
      );
      expect(info).toMatchObject({ data_dir: `${t.dir}/data`, tree_size: 0, tier: 'SILVER' });
      expect(info.listening).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const r = await fetch(`${info.listening}/vcp/log`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(v11Event()),
      });
      expect(r.status).toBe(201);
      stop();
      expect(await done).toBe(0);
      expect(o.text()).toMatch(/stopped; 1 events stored/);
    } finally {
      t.cleanup();
    }
  });
});
