import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from './helpers/paths.js';

// The README is the front door and docs/ holds the rest (issue 20). What keeps that true
// as everyone edits them: every relative link resolves, to a file and to a heading, and
// the README stays a page an operator reads, not the 38 KB it once was.

const README_MAX_BYTES = 12_000;

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f));
  const roles = readdirSync(join(ROOT, 'roles'))
    .map((r) => join(ROOT, 'roles', r, 'README.md'))
    .filter((f) => existsSync(f));
  return [join(ROOT, 'README.md'), join(ROOT, 'SECURITY.md'), ...docs, ...roles];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#+ (.*)$/gm)].map((m) => anchorOf(m[1]!)));
}

describe('documentation', () => {
  it('every relative link in README.md, SECURITY.md, docs/ and the roles resolves to a file and heading', () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // https:, mailto:
        const [path, anchor] = target.split('#', 2) as [string, string | undefined];
        const resolved = path ? resolve(dirname(file), path) : file;
        const where = `${relative(ROOT, file)}: (${target})`;
        if (!existsSync(resolved)) broken.push(`${where} names a file that does not exist`);
        else if (anchor && (statSync(resolved).isDirectory() || !anchors(resolved).has(anchor))) {
          broken.push(`${where} names a heading that ${relative(ROOT, resolved)} does not have`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it("docs/roles.md lists every role's every default variable, with the default the file has", () => {
    const doc = readFileSync(join(ROOT, 'docs', 'roles.md'), 'utf8');
    const wrong: string[] = [];
    for (const role of readdirSync(join(ROOT, 'roles'))) {
      const file = join(ROOT, 'roles', role, 'defaults', 'main.yml');
      if (!existsSync(file)) continue;
      if (!doc.includes(`\n### ${role}\n`)) wrong.push(`no section for role ${role}`);
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const m = /^([a-z0-9_]+):(.*)$/.exec(line);
        if (!m) continue;
        const [, name, value] = m as unknown as [string, string, string];
        const row = new RegExp(`^\\| \`${name}\` \\| (.*?) \\|`, 'm').exec(doc);
        if (!row) wrong.push(`roles/${role}: ${name} is not in docs/roles.md`);
        else if (value.trim() === '' ? row[1] !== '(several lines)' : !line.startsWith(`${name}: ${row[1]!.replace(/^`|`$/g, '').replace(/\\\|/g, '|')}`)) {
          wrong.push(`roles/${role}: ${name} defaults to ${value.trim()}, docs/roles.md says ${row[1]}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });

  it(`README.md stays a front door (at most ${README_MAX_BYTES} bytes; the rest belongs in docs/)`, () => {
    const size = statSync(join(ROOT, 'README.md')).size;
    assert.ok(size <= README_MAX_BYTES, `README.md is ${size} bytes: move detail into a docs/ file and link it`);
  });
});
