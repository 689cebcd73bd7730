/**
 * src/ui/assets.generated.ts is what `node scripts/build-ui.ts` makes from
 * ui/ now: a change to the browser code without rebuilding fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED, generateAssets } from '../../scripts/build-ui.ts';

describe('generated browser assets', () => {
  it('are up to date with ui/ (run `npm run build:ui` when this fails)', async () => {
    expect(readFileSync(GENERATED, 'utf8') === (await generateAssets())).toBe(true);
  }, 60_000);
});
