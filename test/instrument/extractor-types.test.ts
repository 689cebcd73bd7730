/**
 * The extractor type tests (fixtures/extractor-types.ts) hold under both
 * compilers and both decorator kinds: TypeScript 6 and 7, TC39 decorators and
 * legacy `experimentalDecorators`. The fixture's `@ts-expect-error` lines and
 * `Assert<Equal<…>>` checks make any regression an error; errors in other
 * files of the program are not this test's business and are left out.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FIXTURES,
  type Mode,
  makeWorkDir,
  removeWorkDir,
  typecheckTs6,
  typecheckTs7,
} from './fixtures/compile.ts';

const FIXTURE = 'extractor-types.ts';
const MODES: Mode[] = ['tc39', 'legacy'];

let work: string;
beforeAll(async () => {
  work = await makeWorkDir('vcp-extractor-types-');
});
afterAll(async () => {
  if (work) await removeWorkDir(work);
});

/** The fixture's own errors, plus any "file not found" / "cannot read config" (which would hide them). */
const ofFixture = (errors: string[]) =>
  errors.filter((e) => e.startsWith(`${FIXTURE}:`) || /error TS(6053|5058|5083)\b/.test(e));

describe('typed extractors', () => {
  it.each(MODES)(
    'TypeScript 6, %s decorators: the fixture type-checks',
    (mode) => {
      expect(ofFixture(typecheckTs6([FIXTURE], mode))).toEqual([]);
    },
    120_000,
  );

  it.each(MODES)(
    'TypeScript 7, %s decorators: the fixture type-checks',
    async (mode) => {
      expect(ofFixture(await typecheckTs7(work, [FIXTURE], mode))).toEqual([]);
    },
    120_000,
  );

  it('the fixture has the negative cases it claims (each @ts-expect-error line is live)', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(path.join(FIXTURES, FIXTURE), 'utf8');
    expect(text.match(/@ts-expect-error/g)?.length).toBeGreaterThanOrEqual(7);
    expect(text.match(/Assert<Equal</g)?.length).toBeGreaterThanOrEqual(4);
  });
});
