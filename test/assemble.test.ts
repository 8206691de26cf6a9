import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findModule } from '../src/modules/index.js';
import { fragmentsScript, parseFragments, type Fragment } from '../src/modules/assemble.js';
import type { Change, HostModule, ModuleContext, Plan } from '../src/modules/types.js';
import { validateSchema } from '../src/load/validate.js';
import { absent, file } from './helpers/facts.js';
import { testdir } from './helpers/testdir.js';

const ctx = { showsDiff: false } as ModuleContext;
const assemble = () => findModule('assemble') as HostModule<unknown>;

function schemaErrors(args: Record<string, unknown>): string[] {
  return validateSchema(assemble().schema, args, { what: 'assemble', coerce: true }).map((e) => e.message);
}

function plan(args: Record<string, unknown>, files: Array<[string, string | null]>, dest = absent('/out')): Plan {
  assert.deepEqual(schemaErrors(args), []);
  const fragments: Fragment[] = files.map(([name, text]) => ({ name, content: text === null ? null : Buffer.from(text) }));
  return assemble().plan(args as never, { src: { state: 'dir', files: fragments }, dest }, ctx);
}

function written(p: Plan): string {
  const w = p.changes.find((c): c is Extract<Change, { kind: 'write' }> => c.kind === 'write');
  assert.ok(w, `expected a write, got ${JSON.stringify(p)}`);
  return w.content.toString();
}

describe('assemble: fragments + dest facts -> the write copy would do', () => {
  const base = { src: '/frags', dest: '/out' };
  it('joins fragments in sorted name order, adding a newline only after one that lacks it', () => {
    assert.equal(written(plan(base, [['b', 'two'], ['a', 'one\n'], ['c', 'three\n']])), 'one\ntwo\nthree\n');
  });
  it('puts the delimiter between fragments only, with a newline after it', () => {
    assert.equal(written(plan({ ...base, delimiter: '--' }, [['a', 'one\n'], ['b', 'two\n']])), 'one\n--\ntwo\n');
  });
  it("decodes the delimiter's escapes again before each use, as Ansible does", () => {
    // '\\\\t' is decoded to '\\t' before the second fragment, to a tab before the third.
    assert.equal(written(plan({ ...base, delimiter: '\\\\t' }, [['a', '1\n'], ['b', '2\n'], ['c', '3\n']])), '1\n\\t\n2\n\t\n3\n');
  });
  it('matches regexp against the name (re.search) and leaves hidden files out only when asked', () => {
    const files: Array<[string, string]> = [['.h.conf', 'h\n'], ['x.conf', 'x\n'], ['y.txt', 'y\n']];
    assert.equal(written(plan({ ...base, regexp: '\\.conf$' }, files)), 'h\nx\n');
    assert.equal(written(plan({ ...base, regexp: 'conf', ignore_hidden: 'yes' }, files)), 'x\n');
  });
  it('is a no-op when dest already holds the result, and fixes only the mode when that differs', () => {
    assert.deepEqual(plan({ ...base, mode: '0644' }, [['a', 'one\n']], file('/out', { content: 'one\n' })).changes, []);
    assert.deepEqual(plan({ ...base, mode: '0600' }, [['a', 'one\n']], file('/out', { content: 'one\n' })).changes.map((c) => c.kind), ['attrs']);
  });
  it("returns Ansible's keys: src, dest, checksum (sha1), md5sum, msg", () => {
    const p = plan(base, [['a', 'one\n']]);
    assert.deepEqual(Object.keys(p.result!).sort(), ['checksum', 'dest', 'md5sum', 'msg', 'src']);
    assert.deepEqual([p.result!.src, p.result!.dest, p.result!.msg], ['/frags', '/out', 'OK']);
    assert.equal(p.result!.checksum, execFileSync('sha1sum', { input: 'one\n' }).toString().split(' ')[0]);
    assert.equal(p.result!.md5sum, execFileSync('md5sum', { input: 'one\n' }).toString().split(' ')[0]);
  });
  it('fails on a missing or non-directory src, an unreadable fragment, and a bad regexp', () => {
    assert.match(assemble().plan(base as never, { src: { state: 'missing' }, dest: absent('/out') }, ctx).failed ?? '', /Source \(\/frags\) does not exist/);
    assert.match(assemble().plan(base as never, { src: { state: 'notdir' }, dest: absent('/out') }, ctx).failed ?? '', /is not a directory/);
    assert.throws(() => plan(base, [['a', null]]), /\/frags\/a cannot be read/);
    assert.throws(() => plan({ ...base, regexp: '(' }, [['a', 'x']]), /Invalid Regexp/);
  });
  it('refuses remote_src: false and unknown options at load time, naming them', () => {
    assert.match(schemaErrors({ ...base, remote_src: false }).join('\n'), /'remote_src' in assemble can only be true, not false/);
    assert.match(schemaErrors({ ...base, remotesrc: true }).join('\n'), /remotesrc/);
    assert.deepEqual(schemaErrors({ ...base, remote_src: 'yes' }), []);
  });
  it('probes a real directory: regular files through symlinks, hostile names intact, never an option', () => {
    const t = testdir({ '-d/-x': 'dash\n', '-d/a b\nc': 'odd\n', '-d/.hidden': '', '-d/sub/deep': 'no\n' });
    try {
      const dir = join(t.dir, '-d');
      symlinkSync(join(dir, '-x'), join(dir, 'link'));
      mkdirSync(join(dir, 'emptydir'));
      writeFileSync(join(t.dir, 'plain'), 'x');
      const run = (d: string) => parseFragments(execFileSync('sh', ['-c', fragmentsScript(d)], { cwd: t.dir }).toString('latin1'));
      const got = run('-d');
      assert.equal(got.state, 'dir');
      const files = got.state === 'dir' ? got.files.map((f) => [f.name, f.content?.toString()]).sort() : [];
      assert.deepEqual(files, [['-x', 'dash\n'], ['.hidden', ''], ['a b\nc', 'odd\n'], ['link', 'dash\n']]);
      assert.deepEqual(run(join(t.dir, 'nope')), { state: 'missing' });
      assert.deepEqual(run(join(t.dir, 'plain')), { state: 'notdir' });
    } finally {
      t.cleanup();
    }
  });
});
