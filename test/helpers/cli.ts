/** Run the `vcp` CLI in-process with captured output (the real `main`, only the streams differ). */
import type { CliIo } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';

/** Outcome of one {@link runVcp} call. */
export interface VcpRun {
  code: number;
  out: string;
  err: string;
}

/** Run `vcp <argv…>` with `cwd` as its working folder; stdout and stderr are collected. */
export async function runVcp(cwd: string, ...argv: string[]): Promise<VcpRun> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    errIsTty: false,
    env: {},
    cwd,
  };
  const code = await main(argv, io);
  return { code, out, err };
}
