/**
 * Every relative link in the README, the CHANGELOG and docs/*.md names a file
 * of this checkout, and every `#anchor` a heading of that file (GitHub's
 * slugs), so the docs a user follows lead somewhere.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const files = [
  'README.md',
  'CHANGELOG.md',
  ...readdirSync(join(root, 'docs'))
    .filter((n) => n.endsWith('.md'))
    .map((n) => `docs/${n}`),
];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(path: string): Set<string> {
  const text = readFileSync(path, 'utf8').replace(/```[\s\S]*?```/g, '');
  const out = new Set<string>();
  for (const m of text.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(m[1]!);
    let name = base;
    for (let n = 1; out.has(name); n++) name = `${base}-${n}`;
    out.add(name);
  }
  return out;
}

/** `[text](target)` links outside code blocks and inline code. */
function linksOf(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

describe('documentation links', () => {
  it('finds the docs', () => {
    expect(files).toContain('docs/performance.md');
  });

  for (const file of files) {
    it(`${file}: every relative link and anchor resolves`, () => {
      const broken: string[] = [];
      for (const link of linksOf(readFileSync(join(root, file), 'utf8'))) {
        if (/^[a-z]+:/i.test(link)) continue; // https:, mailto:
        const [target, anchor] = link.split('#') as [string, string | undefined];
        const path = target ? join(root, dirname(file), target) : join(root, file);
        if (!existsSync(path)) {
          broken.push(`${link}: no file ${relative(root, path)}`);
          continue;
        }
        if (anchor && path.endsWith('.md') && !anchorsOf(path).has(anchor))
          broken.push(`${link}: no heading #${anchor} in ${relative(root, path)}`);
      }
      expect(broken).toEqual([]);
    });
  }
});
