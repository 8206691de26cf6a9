import assert from 'node:assert/strict';
import { findModule } from '../src/modules/index.js';
import type { Change, HostModule, ModuleContext, Plan } from '../src/modules/types.js';
import { validateSchema } from '../src/load/validate.js';
import { absent, dir, file } from './helpers/facts.js';

const ctx: ModuleContext = {
  readControllerFile: (_kind, path) => ({ path, content: Buffer.from(`content of ${path}\n`) }),
  controllerContent: (_kind, path) => ({ path, content: Buffer.from(`content of ${path}\n`) }),
  renderTemplate: (source) => source.toUpperCase(),
  test: (e) => e === 'true',
  lookupVar: (n) => `value of ${n}`,
  template: (v) => v,
  hostVars: () => ({}),
  showsDiff: false,
};

/** Plans a module from args and facts, as the engine does (args validated and coerced first). */
function plan(name: string, args: Record<string, unknown>, facts: Record<string, unknown>): Plan {
  const m = findModule(name) as HostModule<unknown>;
  const errors = validateSchema(m.schema, args, { what: name, coerce: true });
  assert.deepEqual(errors.map((e) => e.message), []);
  return m.plan(args as never, facts, ctx);
}

function kinds(p: Plan): string[] {
  return p.changes.map((c) => c.kind);
}

function written(p: Plan): string {
  const w = p.changes.find((c): c is Extract<Change, { kind: 'write' }> => c.kind === 'write');
  assert.ok(w, `expected a write, got ${JSON.stringify(kinds(p))}`);
  return w.content.toString();
}

describe('modules: facts + args -> planned changes', () => {
  describe('file', () => {
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, string[] | { failed: RegExp }]> = [
      ['directory that is missing', { path: '/d', state: 'directory' }, { path: absent('/d') }, ['mkdir']],
      ['directory that exists', { path: '/d', state: 'directory' }, { path: dir('/d') }, []],
      ['directory with another mode', { path: '/d', state: 'directory', mode: '0700' }, { path: dir('/d') }, ['attrs']],
      ['directory where a file is', { path: '/d', state: 'directory' }, { path: file('/d') }, { failed: /already exists as a file/ }],
      ['absent that exists', { path: '/f', state: 'absent' }, { path: file('/f') }, ['remove']],
      ['absent that is absent', { path: '/f', state: 'absent' }, { path: absent('/f') }, []],
      ['file that is missing', { path: '/f', state: 'file' }, { path: absent('/f') }, { failed: /is absent, cannot continue/ }],
      ['file mode as YAML octal int', { path: '/f', mode: 0o600 }, { path: file('/f', { mode: '0600' }) }, []],
      ['file mode symbolic', { path: '/f', mode: 'u=rw,g=r,o=' }, { path: file('/f', { mode: '0644' }) }, ['attrs']],
      ['file owner by name', { path: '/f', owner: 'root' }, { path: file('/f') }, []],
      ['file owner by uid', { path: '/f', owner: '1000' }, { path: file('/f') }, ['attrs']],
      ['touch always changes', { path: '/f', state: 'touch' }, { path: file('/f') }, ['touch']],
      ['link created', { path: '/l', src: '/t', state: 'link' }, { path: absent('/l') }, ['symlink']],
      ['link already right', { path: '/l', src: '/t', state: 'link' }, { path: file('/l', { link: '/t' }) }, []],
      ['link over a file without force', { path: '/l', src: '/t', state: 'link' }, { path: file('/l') }, { failed: /refusing to convert/ }],
      ['link over a file with force', { path: '/l', src: '/t', state: 'link', force: true }, { path: file('/l') }, ['symlink']],
      ['hard link already there', { path: '/h', src: '/t', state: 'hard' }, { path: file('/h'), hardlinked: true }, []],
      ['recurse when children differ', { path: '/d', state: 'directory', mode: '0755', recurse: true }, { path: dir('/d'), recurse: true }, ['attrs']],
    ];
    for (const [title, args, facts, want] of cases) {
      it(title, () => {
        const p = plan('file', args, facts);
        if (Array.isArray(want)) {
          assert.equal(p.failed, undefined);
          assert.deepEqual(kinds(p), want);
        } else assert.match(p.failed ?? '', want.failed);
      });
    }
    it('applies a symbolic mode to the current one', () => {
      const p = plan('file', { path: '/f', mode: 'g+w,o-r' }, { path: file('/f', { mode: '0644' }) });
      assert.deepEqual(p.changes[0], { kind: 'attrs', path: '/f', attrs: { mode: '0660' }, before: { mode: '0644', owner: 'root', group: 'root' }, follow: true });
    });
  });

  describe('copy', () => {
    it('writes new content with the requested mode', () => {
      const p = plan('copy', { dest: '/x', content: 'hi\n', mode: '0600' }, { dest: absent('/x'), });
      assert.equal(written(p), 'hi\n');
      assert.deepEqual((p.changes[0] as Extract<Change, { kind: 'write' }>).attrs, { mode: '0600' });
      assert.equal((p.changes[0] as Extract<Change, { kind: 'write' }>).before, null);
    });
    it('is a no-op when content and mode match', () => {
      assert.deepEqual(kinds(plan('copy', { dest: '/x', content: 'hi\n', mode: '0644' }, { dest: file('/x', { content: 'hi\n' }) })), []);
    });
    it('fixes only the mode when content matches', () => {
      assert.deepEqual(kinds(plan('copy', { dest: '/x', content: 'hi\n', mode: '0600' }, { dest: file('/x', { content: 'hi\n' }) })), ['attrs']);
    });
    it('keeps the old content as "before" for the diff', () => {
      const p = plan('copy', { dest: '/x', content: 'new\n' }, { dest: file('/x', { content: 'old\n' }) });
      assert.equal((p.changes[0] as Extract<Change, { kind: 'write' }>).before?.toString(), 'old\n');
    });
    it('without a diff asked, compares by sha256: the old content is not fetched', () => {
      const m = findModule('copy') as HostModule<unknown>;
      const wants = (showsDiff: boolean) => Object.values(m.probe({ dest: '/x', src: 'a.conf' }, { ...ctx, showsDiff })).map((p) => (p.merge?.query as { want: unknown }).want);
      assert.deepEqual(wants(false), [{ sha256: true }, { sha256: true }]);
      assert.deepEqual(wants(true), [{ content: true }, { content: true }]);
      assert.deepEqual(kinds(plan('copy', { dest: '/x', content: 'hi\n' }, { dest: file('/x', { content: 'hi\n', unread: true }) })), []);
      const p = plan('copy', { dest: '/x', content: 'new\n' }, { dest: file('/x', { content: 'old\n', unread: true }) });
      // An existing file whose content was not read: not "created" (null), not empty.
      assert.equal((p.changes[0] as Extract<Change, { kind: 'write' }>).before, undefined);
      assert.equal(written(p), 'new\n');
    });
    it('force: false leaves an existing file alone', () => {
      assert.deepEqual(kinds(plan('copy', { dest: '/x', content: 'new', force: false }, { dest: file('/x', { content: 'old' }) })), []);
    });
    it('src into an existing directory uses the source name', () => {
      const p = plan('copy', { dest: '/etc/', src: 'a.conf' }, { dest: dir('/etc'), inDir: absent('/etc/a.conf') });
      assert.equal((p.changes[0] as Extract<Change, { kind: 'write' }>).path, '/etc/a.conf');
      assert.equal(written(p), 'content of a.conf\n');
    });
    it('a dict as content is written as Python-style JSON', () => {
      assert.equal(written(plan('copy', { dest: '/x', content: { b: 1, a: [1, 2] } }, { dest: absent('/x') })), '{"b": 1, "a": [1, 2]}');
    });
    it('passes validate and backup through to the write', () => {
      const p = plan('copy', { dest: '/x', content: 'a', validate: 'visudo -cf %s', backup: true }, { dest: file('/x', { content: 'b' }) });
      const w = p.changes[0] as Extract<Change, { kind: 'write' }>;
      assert.equal(w.validate, 'visudo -cf %s');
      assert.equal(w.backup, true);
    });
    it('rejects a validate without %s', () => {
      const m = findModule('copy')!;
      assert.match(validateSchema(m.schema, { dest: '/x', content: 'a', validate: 'true' }, { what: 'copy' })[0]!.message, /must match %s/);
    });
    it('refuses to write over a directory', () => {
      assert.match(plan('copy', { dest: '/x', content: 'a' }, { dest: dir('/x'), }).failed ?? '', /is a directory/);
    });
  });

  describe('template', () => {
    it('renders with the task context and writes the result', () => {
      assert.equal(written(plan('template', { src: 't.j2', dest: '/x' }, { dest: absent('/x'), inDir: absent('/x/t.j2') })), 'CONTENT OF T.J2\n');
    });
  });

  describe('lineinfile', () => {
    const text = '# settings\nPort 22\n#PasswordAuthentication yes\nend';
    const cases: Array<[string, Record<string, unknown>, string | null | RegExp]> = [
      ['replaces the last regexp match', { regexp: '^Port', line: 'Port 2222' }, '# settings\nPort 2222\n#PasswordAuthentication yes\nend'],
      ['no change when the line is there', { line: 'Port 22' }, null],
      ['appends, adding the missing final newline', { line: 'new' }, '# settings\nPort 22\n#PasswordAuthentication yes\nend\nnew\n'],
      ['inserts after a match', { line: 'after', insertafter: '^Port' }, '# settings\nPort 22\nafter\n#PasswordAuthentication yes\nend'],
      ['inserts before a match', { line: 'before', insertbefore: '^Port' }, '# settings\nbefore\nPort 22\n#PasswordAuthentication yes\nend'],
      ['inserts at BOF', { line: 'top', insertbefore: 'BOF' }, 'top\n# settings\nPort 22\n#PasswordAuthentication yes\nend'],
      ['backrefs rewrite the match', { regexp: '^#(Password\\w+) yes', line: '\\1 no', backrefs: true }, '# settings\nPort 22\nPasswordAuthentication no\nend'],
      ['backrefs without a match change nothing', { regexp: '^nomatch(.*)', line: '\\1', backrefs: true }, null],
      ['search_string replaces a literal match', { search_string: 'Port 22', line: 'Port 23' }, '# settings\nPort 23\n#PasswordAuthentication yes\nend'],
      ['absent removes every match', { regexp: '^#', state: 'absent' }, 'Port 22\nend'],
      ['absent with nothing to remove', { line: 'nope', state: 'absent' }, null],
    ];
    for (const [title, args, want] of cases) {
      it(title, () => {
        const p = plan('lineinfile', { path: '/f', ...args }, { path: file('/f', { content: text }) });
        if (want === null) assert.deepEqual(kinds(p), []);
        else assert.equal(written(p), want);
      });
    }
    it('fails on a missing file unless create', () => {
      assert.match(plan('lineinfile', { path: '/f', line: 'x' }, { path: absent('/f') }).failed ?? '', /does not exist/);
      assert.equal(written(plan('lineinfile', { path: '/f', line: 'x', create: true }, { path: absent('/f') })), 'x\n');
    });
    it('rejects insertafter with insertbefore', () => {
      const m = findModule('lineinfile')!;
      assert.match(validateSchema(m.schema, { path: '/f', line: 'x', insertafter: 'a', insertbefore: 'b' }, { what: 'lineinfile' })[0]!.message, /mutually exclusive/);
    });
    it('a line that ends the file without a newline gets one (as Ansible)', () => {
      assert.equal(written(plan('lineinfile', { path: '/f', line: 'end' }, { path: file('/f', { content: text }) })), `${text}\n`);
    });
  });

  describe('blockinfile', () => {
    it('appends a marked block', () => {
      const p = plan('blockinfile', { path: '/f', block: 'a\nb' }, { path: file('/f', { content: 'x\n' }) });
      assert.equal(written(p), 'x\n# BEGIN ANSIBLE MANAGED BLOCK\na\nb\n# END ANSIBLE MANAGED BLOCK\n');
    });
    it('replaces the block between existing markers', () => {
      const before = 'x\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\ny\n';
      assert.equal(written(plan('blockinfile', { path: '/f', block: 'new' }, { path: file('/f', { content: before }) })), 'x\n# BEGIN ANSIBLE MANAGED BLOCK\nnew\n# END ANSIBLE MANAGED BLOCK\ny\n');
    });
    it('is a no-op when the block is already there', () => {
      const before = '# BEGIN ANSIBLE MANAGED BLOCK\nnew\n# END ANSIBLE MANAGED BLOCK\n';
      assert.deepEqual(kinds(plan('blockinfile', { path: '/f', block: 'new' }, { path: file('/f', { content: before }) })), []);
    });
    it('removes the block for state absent', () => {
      const before = 'x\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\n';
      assert.equal(written(plan('blockinfile', { path: '/f', state: 'absent' }, { path: file('/f', { content: before }) })), 'x\n');
    });
    it('custom marker, inserted before a match', () => {
      const p = plan('blockinfile', { path: '/f', marker: ';{mark}', insertbefore: '^end', block: 'k=v' }, { path: file('/f', { content: 'a\nend\n' }) });
      assert.equal(written(p), 'a\n;BEGIN\nk=v\n;END\nend\n');
    });
  });

  describe('replace', () => {
    it('replaces every match, multiline anchors, backrefs', () => {
      assert.equal(written(plan('replace', { path: '/f', regexp: '^(\\w+) = old$', replace: '\\1 = new' }, { path: file('/f', { content: 'a = old\nb = old\n' }) })), 'a = new\nb = new\n');
    });
    it('only between after and before', () => {
      const p = plan('replace', { path: '/f', regexp: 'x', replace: 'y', after: 'START', before: 'END' }, { path: file('/f', { content: 'x START x END x' }) });
      assert.equal(written(p), 'x START y END x');
    });
    it('no match, no change', () => {
      assert.deepEqual(kinds(plan('replace', { path: '/f', regexp: 'zzz', replace: 'y' }, { path: file('/f', { content: 'abc' }) })), []);
    });
  });

  describe('stat', () => {
    it('reports an absent path', () => {
      assert.deepEqual(plan('stat', { path: '/n' }, { path: absent('/n') }).result, { stat: { exists: false } });
    });
    it('reports mode, type and sha1 checksum', () => {
      const st = plan('stat', { path: '/f' }, { path: file('/f', { content: 'abc', mode: '0600' }) }).result!.stat as Record<string, unknown>;
      assert.equal(st.mode, '0600');
      assert.equal(st.isreg, true);
      assert.equal(st.checksum, 'a9993e364706816aba3e25717850c26c9cd0d89d');
    });
  });

  describe('command and shell', () => {
    it('command splits words and quotes each (no shell)', () => {
      const p = plan('command', { _raw_params: 'echo "a b" $HOME; rm -rf /' }, {});
      assert.deepEqual(p.changes, [{ kind: 'exec', script: "echo 'a b' '$HOME;' rm -rf /", display: 'echo "a b" $HOME; rm -rf /', stdin: undefined, opaque: true }]);
    });
    it('shell runs the text with /bin/sh -c', () => {
      const p = plan('shell', { cmd: 'echo $HOME | wc -c', chdir: '/tmp' }, {});
      assert.equal((p.changes[0] as Extract<Change, { kind: 'exec' }>).script, "cd -- /tmp || exit 1\n/bin/sh -c 'echo $HOME | wc -c'");
    });
    it('creates that exists skips the command', () => {
      assert.deepEqual(kinds(plan('command', { _raw_params: 'make', creates: '/x' }, { creates: true })), []);
    });
    it('removes that does not exist skips the command', () => {
      assert.deepEqual(kinds(plan('command', { _raw_params: 'make', removes: '/x' }, { removes: false })), []);
    });
    it('stdin gets a trailing newline unless told otherwise', () => {
      assert.equal((plan('command', { _raw_params: 'cat', stdin: 'x' }, {}).changes[0] as Extract<Change, { kind: 'exec' }>).stdin, 'x\n');
      assert.equal((plan('command', { _raw_params: 'cat', stdin: 'x', stdin_add_newline: false }, {}).changes[0] as Extract<Change, { kind: 'exec' }>).stdin, 'x');
    });
    it('collects rc, stdout lines, and fails on non-zero rc', () => {
      const m = findModule('command') as HostModule<unknown>;
      const ok = m.collect!({ _raw_params: 'x' } as never, { rc: 0, stdout: 'a\nb\n', stderr: '' });
      assert.deepEqual(ok.result.stdout_lines, ['a', 'b']);
      assert.equal(ok.failed, undefined);
      assert.equal(m.collect!({ _raw_params: 'x' } as never, { rc: 2, stdout: '', stderr: 'bad' }).failed, 'non-zero return code');
    });
  });

  describe('controller actions', () => {
    const run = (name: string, args: Record<string, unknown>) => {
      const m = findModule(name)!;
      assert.equal(m.kind, 'action');
      return m.kind === 'action' ? m.run(args as never, ctx) : undefined;
    };
    it('debug msg and var', () => {
      assert.deepEqual(run('debug', { msg: 'hi' })?.result, { msg: 'hi' });
      assert.deepEqual(run('debug', { var: 'x' })?.result, { x: 'value of x' });
    });
    it('fail with a message', () => {
      assert.equal(run('fail', { msg: 'stop' })?.failed, 'stop');
      assert.equal(run('fail', {})?.failed, 'Failed as requested from task');
    });
    it('assert passes and fails on conditions', () => {
      assert.equal(run('assert', { that: ['true', 'true'] })?.failed, undefined);
      assert.equal(run('assert', { that: ['true', 'false'], fail_msg: 'nope' })?.failed, 'nope');
    });
    it('set_fact sets facts', () => {
      assert.deepEqual(run('set_fact', { a: 1, cacheable: true })?.facts, { a: 1 });
    });
    it('meta passes its action to the engine', () => {
      assert.equal(run('meta', { _raw_params: 'flush_handlers' })?.meta, 'flush_handlers');
    });
    it('ansible.builtin names resolve to the same module', () => {
      assert.equal(findModule('ansible.builtin.copy'), findModule('copy'));
      assert.equal(findModule('ansible.builtin.nope'), undefined);
    });
  });
});
