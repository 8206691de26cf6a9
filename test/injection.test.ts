import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { up } from '../lab/lab.js';
import { recap, runCli } from './helpers/cli.js';
import { inGuest, LAB_ENV, LAB_INVENTORY, requireLab, type LabHostState } from './helpers/lab.js';
import { FIXTURES } from './helpers/paths.js';
import { testdir } from './helpers/testdir.js';

const DIR = join(FIXTURES, 'injection');
const play = (playbook: string) => runCli([playbook, '-i', LAB_INVENTORY], { cwd: DIR, env: LAB_ENV });
const payloads = (parse(readFileSync(join(DIR, 'payloads.yml'), 'utf8')) as { payloads: string[] }).payloads;
const oneLine = payloads.filter((p) => !p.includes('\n'));
const CANARIES = "find / /tmp /run /home /root -xdev -name 'senex-canary*' -print 2>/dev/null | sort -u";

/** Every regular file (or directory) below `dir`, name relative to it -> content, read byte for byte. */
function readTree(host: LabHostState, dir: string, type: 'f' | 'd' = 'f'): Map<string, string> {
  const out = inGuest(
    host,
    `cd ${dir} && find . -mindepth 1 -maxdepth 1 -type ${type} -exec sh -c 'for f; do printf "%s %s\\n" "$(printf %s "\${f#./}" | base64 -w0)" "$( [ -f "$f" ] && base64 -w0 < "$f")"; done' sh {} +`,
  );
  const tree = new Map<string, string>();
  for (const line of out.split('\n').filter(Boolean)) {
    const [name, content = ''] = line.split(' ');
    tree.set(Buffer.from(name!, 'base64').toString('utf8'), Buffer.from(content, 'base64').toString('utf8'));
  }
  return tree;
}

// Each payload goes to a real host in every place a value can reach a shell: it must land
// exactly as given, and nothing in it may run.
describe('injection payloads on a lab host', function () {
  this.timeout(300_000);
  let lab1: LabHostState;

  before(async function () {
    requireLab(this);
    await up(3);
    lab1 = requireLab(this).find((h) => h.name === 'lab1')!;
    inGuest(lab1, `rm -rf /srv/inj-* /etc/cron.d/senex-injection*; userdel senexinj 2>/dev/null; ${CANARIES} | xargs -r rm -f; true`);
  });

  // Skipped (known regression, found by this session's last CI run, to fix next session): the staged
  // writes of issue 16 item 1 pass path components newline-separated, so a name holding a newline is
  // created as its first line. No canary ran; the name is wrong.
  it(`${payloads.length} payloads in file names, contents, templates, lines, commands, cron jobs, a user comment, unit and user names: exact, and no canary`, async () => {
    assert.ok(payloads.length >= 15);
    const r = await play('site.yml');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(inGuest(lab1, CANARIES), '', 'an injected command ran');

    const copies = readTree(lab1, '/srv/inj-copy');
    assert.deepEqual([...copies.keys()].sort(), [...payloads].sort());
    for (const p of payloads) assert.equal(copies.get(p), p, `copy of ${JSON.stringify(p)}`);
    const templates = readTree(lab1, '/srv/inj-template');
    for (const p of payloads) assert.equal(templates.get(p), `${p}\n`, `template of ${JSON.stringify(p)}`);
    assert.equal(templates.size, payloads.length);
    assert.deepEqual([...readTree(lab1, '/srv/inj-dir', 'd').keys()].sort(), [...payloads].sort());
    assert.equal(inGuest(lab1, 'cat /srv/inj-lines'), oneLine.map((p) => `${p}\n`).join(''));

    // One comment and one job line per payload, nothing else: no payload made a line of its own.
    const cron = inGuest(lab1, 'cat /etc/cron.d/senex-injection').split('\n').filter(Boolean);
    assert.deepEqual(cron.filter((l) => l.startsWith('#Ansible: ')).map((l) => l.slice('#Ansible: '.length)), oneLine);
    assert.equal(cron.length, oneLine.length * 2);
    for (const l of cron.filter((x) => !x.startsWith('#'))) assert.match(l, /^0 0 31 2 \* root echo .* >\/dev\/null$/);

    assert.equal(inGuest(lab1, 'getent passwd senexinj | cut -d: -f5').replace(/\n$/, ''), `${oneLine[3]} ${oneLine[4]}`);
    // 19 unit names and 19 user names refused, each alone (checked in the playbook), none created.
    assert.equal(inGuest(lab1, "getent passwd | cut -d: -f1 | grep -c -v '^[a-z_][a-z0-9_.-]*$' || true").trim(), '0');

    const again = await play('site.yml');
    assert.equal(recap(again.stdout, 'lab1').changed, 0, again.stdout);
    assert.equal(inGuest(lab1, CANARIES), '');
  });

  it('a newline hidden in a cron job is refused before any host is touched, with the place', async () => {
    const r = await play('cron-newline.yml');
    assert.equal(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stderr, /cron-newline\.yml:10:14: error: 'job' in module 'cron' must match/);
    assert.match(r.stderr, /hint: one line: a newline would start a second cron line/);
    assert.equal(inGuest(lab1, 'test -e /etc/cron.d/senex-injection-newline && echo yes || echo no').trim(), 'no');
  });
});

// The same file names without the lab: a local connection into a temporary directory. Names
// with a newline anywhere (also at the end, where `$(...)` would strip it) and directories
// created several levels at a time must come out exactly as given.
describe('injection payloads in file names, locally', function () {
  this.timeout(120_000);
  let t: ReturnType<typeof testdir>;
  beforeEach(() => (t = testdir()));
  afterEach(() => t.cleanup());

  /** Entries of a directory (names as bytes, decoded as UTF-8) -> content ('' for a directory). */
  const entries = (dir: string) =>
    new Map(readdirSync(dir, { withFileTypes: true }).map((e) => [e.name, e.isDirectory() ? '' : readFileSync(join(dir, e.name), 'utf8')]));

  it('every payload, and names ending in or made of newlines, as copies, templates, directories and nested directories', async () => {
    const names = [...payloads, 'ends in a newline\n', '\n', '\n\nboth\n\n', 'x\n'];
    writeFileSync(join(t.dir, 'names.yml'), JSON.stringify({ names }));
    writeFileSync(join(t.dir, 'payload.j2'), '{{ item }}\n');
    writeFileSync(
      join(t.dir, 'site.yml'),
      [
        '- hosts: all',
        '  gather_facts: false',
        '  vars_files: [names.yml]',
        '  tasks:',
        '    - file: {path: "{{ out }}/{{ item }}", state: directory}',
        '      loop: [copy, template, dir, nested]',
        '    - copy: {dest: "{{ out }}/copy/{{ item }}", content: "{{ item }}"}',
        '      loop: "{{ names }}"',
        '    - template: {src: payload.j2, dest: "{{ out }}/template/{{ item }}"}',
        '      loop: "{{ names }}"',
        '    - file: {path: "{{ out }}/dir/{{ item }}", state: directory}',
        '      loop: "{{ names }}"',
        // Three missing levels at once, each named after the payload.
        '    - file: {path: "{{ out }}/nested/{{ item }}/{{ item }}/{{ item }}", state: directory, mode: "0750"}',
        '      loop: "{{ names }}"',
        '    - copy: {dest: "{{ out }}/nested/{{ item }}/{{ item }}/{{ item }}/{{ item }}", content: "{{ item }}"}',
        '      loop: "{{ names }}"',
        '',
      ].join('\n'),
    );
    const out = join(t.dir, 'out');
    const args = ['site.yml', '-i', 'localhost,', '-c', 'local', '-e', `out=${out}`];
    const r = await runCli(args, { cwd: t.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const sorted = [...names].sort();
    const copies = entries(join(out, 'copy'));
    assert.deepEqual([...copies.keys()].sort(), sorted);
    for (const n of names) assert.equal(copies.get(n), n, `copy of ${JSON.stringify(n)}`);
    const templates = entries(join(out, 'template'));
    assert.deepEqual([...templates.keys()].sort(), sorted);
    for (const n of names) assert.equal(templates.get(n), `${n}\n`, `template of ${JSON.stringify(n)}`);
    assert.deepEqual([...entries(join(out, 'dir')).keys()].sort(), sorted);
    assert.deepEqual([...entries(join(out, 'nested')).keys()].sort(), sorted);
    for (const n of names) {
      const deepest = join(out, 'nested', n, n, n);
      assert.deepEqual([...entries(deepest).entries()], [[n, n]], `nested ${JSON.stringify(n)}`);
      for (const level of [join(out, 'nested', n), join(out, 'nested', n, n), deepest]) assert.equal(statSync(level).mode & 0o777, 0o750, level);
    }
    const again = await runCli(args, { cwd: t.dir });
    assert.equal(recap(again.stdout, 'localhost').changed, 0, again.stdout);
  });
});
