import assert from 'node:assert/strict';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recap, runCli } from './helpers/cli.js';
import { snapshot } from './helpers/snapshot.js';
import { testdir } from './helpers/testdir.js';

const PLAYBOOK = `
- hosts: all
  gather_facts: false
  vars:
    out: "{{ playbook_dir }}/out"
  tasks:
    - file: {path: "{{ out }}", state: directory, mode: "0750"}
    - copy: {dest: "{{ out }}/motd", content: "welcome to {{ inventory_hostname }}\\n", mode: "0644"}
    - template: {src: app.conf.j2, dest: "{{ out }}/app.conf", mode: "0600"}
      notify: note
    - lineinfile: {path: "{{ out }}/settings", line: "managed = yes", create: true}
    - copy: {dest: "{{ out }}/editable", content: "port = 8080\\n", force: false}
    - blockinfile: {path: "{{ out }}/editable", block: "extra = 1"}
    - replace: {path: "{{ out }}/editable", regexp: "^port = .*$", replace: "port = 8443"}
    - file: {src: motd, dest: "{{ out }}/motd.link", state: link}
    - command: touch {{ out }}/stamp
      args: {creates: "{{ out }}/stamp"}
  handlers:
    - name: note
      copy: {dest: "{{ out }}/handler-ran", content: "yes\\n"}
`;

function setup() {
  return testdir({
    'playbooks/site.yml': PLAYBOOK,
    'playbooks/templates/app.conf.j2': 'name = {{ inventory_hostname }}\nport = 8080\n',
    'inventory/local.ini': 'box ansible_connection=local\n',
  });
}

describe('CLI on the local connection', function () {
  this.timeout(60_000);

  it('converges, is idempotent, and --check --diff reports without touching anything', async () => {
    const t = setup();
    try {
      const first = await runCli(['site.yml', '-i', 'local'], { cwd: t.dir });
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.deepEqual(recap(first.stdout, 'box'), { ok: 10, changed: 10, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 });
      const out = join(t.dir, 'playbooks', 'out');
      assert.equal(readFileSync(join(out, 'editable'), 'utf8'), 'port = 8443\n# BEGIN ANSIBLE MANAGED BLOCK\nextra = 1\n# END ANSIBLE MANAGED BLOCK\n');
      assert.equal(snapshot(out)['app.conf']!.mode, '0600');

      const second = await runCli(['site.yml', '-i', 'local', '--detailed-exitcode'], { cwd: t.dir });
      assert.equal(second.code, 0, second.stdout);
      assert.equal(recap(second.stdout, 'box').changed, 0);

      // Drift: change two managed files and one mode by hand.
      writeFileSync(join(out, 'motd'), 'defaced\n');
      writeFileSync(join(out, 'app.conf'), 'name = box\nport = 1\n');
      const before = snapshot(t.dir, true);
      const check = await runCli(['site.yml', '-i', 'local', '--check', '--diff', '--detailed-exitcode'], { cwd: t.dir });
      assert.equal(check.code, 8, check.stdout + check.stderr);
      assert.deepEqual(snapshot(t.dir, true), before, '--check changed something on disk');
      assert.match(check.stdout, /--- before: .*\/out\/motd\n\+\+\+ after: .*\/out\/motd\n@@ -1,1 \+1,1 @@\n-defaced\n\+welcome to box/);
      assert.match(check.stdout, /would update .*\/out\/app\.conf/);
      assert.match(check.stdout, /-port = 1\n\+port = 8080/);
      // Exactly the two drifted files, nothing else.
      assert.equal(recap(check.stdout, 'box').changed, 2);

      const fix = await runCli(['site.yml', '-i', 'local'], { cwd: t.dir });
      assert.equal(fix.code, 0);
      assert.equal(readFileSync(join(out, 'motd'), 'utf8'), 'welcome to box\n');
      const again = await runCli(['site.yml', '-i', 'local', '--detailed-exitcode'], { cwd: t.dir });
      assert.equal(again.code, 0, again.stdout);
    } finally {
      t.cleanup();
    }
  });

  it('--stats: what each host cost; a no-op run probes nine tasks in a few round trips (look-ahead)', async () => {
    const t = setup();
    try {
      await runCli(['site.yml', '-i', 'local'], { cwd: t.dir });
      const r = await runCli(['site.yml', '-i', 'local', '--stats'], { cwd: t.dir });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const m = /\nSTATS \*+\nbox : round_trips=(\d+)  requests=\d+  channels=(\d+)  sent=[\d.]+ kB  received=[\d.]+ kB  connect=[\d.]+ s  probe=[\d.]+ s  apply=[\d.]+ s\n/.exec(r.stdout);
      assert.ok(m, r.stdout);
      // One to start the shell, then batches: without look-ahead it would be 1 + 9.
      assert.ok(Number(m[1]) <= 5, `${m[1]} round trips`);
      assert.equal(Number(m[2]), 1);
      assert.match(r.stdout, /\nfinished in [\d.]+ s\n$/);
    } finally {
      t.cleanup();
    }
  });

  it('a query (changed_when: false, check_mode: false) rides with the look-ahead probes, runs once, and sees earlier changes', async () => {
    const QUERIES = `
- hosts: all
  gather_facts: false
  vars:
    out: "{{ playbook_dir }}/out"
  tasks:
    - file: {path: "{{ out }}", state: directory}
    - copy: {dest: "{{ out }}/a", content: "{{ v }}\\n"}
    - name: read a (a query)
      command: cat {{ out }}/a
      register: q1
      changed_when: false
      check_mode: false
    - name: read a again, counting the runs (a query)
      shell: echo ran >> {{ out }}/query-runs; cat {{ out }}/a
      register: q2
      changed_when: false
      check_mode: false
    - copy: {dest: "{{ out }}/b", content: "{{ q1.stdout }}/{{ q2.stdout }}\\n"}
    - copy: {dest: "{{ out }}/c", content: "c\\n"}
`;
    const t = testdir({ 'playbooks/site.yml': QUERIES, 'inventory/local.ini': 'box ansible_connection=local\n' });
    const out = join(t.dir, 'playbooks', 'out');
    const run = (v: string) => runCli(['site.yml', '-i', 'local', '-e', `v=${v}`, '--stats'], { cwd: t.dir });
    const runs = () => readFileSync(join(out, 'query-runs'), 'utf8').split('\n').filter(Boolean).length;
    const trips = (stdout: string) => /box : round_trips=(\d+)  requests=(\d+)/.exec(stdout)!.slice(1).map(Number);
    try {
      const first = await run('one');
      assert.equal(first.code, 0, first.stdout + first.stderr);
      // The queries ran after a was written, though the look-ahead saw them before.
      assert.equal(readFileSync(join(out, 'b'), 'utf8'), 'one/one\n');
      // Ahead of its turn, then again because a changed in between: a query may run twice.
      const afterFirst = runs();
      assert.ok(afterFirst === 1 || afterFirst === 2, `${afterFirst} runs`);
      const noop = await run('one');
      assert.equal(recap(noop.stdout, 'box').changed, 0, noop.stdout);
      assert.equal(runs(), afterFirst + 1, 'with nothing changed in between, a query runs once');
      // Round trips: the shell's start with the first task's probe right behind it (no
      // connection yet to look ahead over); a's and c's probes with both queries, pipelined
      // (3 requests); b, whose content waits for the queries' answers.
      assert.deepEqual(trips(noop.stdout), [3, 6], noop.stdout);
      const change = await run('two');
      assert.equal(readFileSync(join(out, 'b'), 'utf8'), 'two/two\n');
      assert.equal(recap(change.stdout, 'box').changed, 2, change.stdout);
    } finally {
      t.cleanup();
    }
  });

  it('a write keeps the probes of unrelated files, and drops those that reach it through a symlink', async () => {
    // Six new files: a change empties the probe cache only of what it could have touched, so
    // the look-ahead's answers for the other files stay. Then a file written through "real"
    // and edited through "link" (a symlink to it): the edit must see the write.
    const FILES = `
- hosts: all
  gather_facts: false
  vars:
    out: "{{ playbook_dir }}/out"
  tasks:
    - copy: {dest: "{{ out }}/one", content: "1\\n"}
    - copy: {dest: "{{ out }}/two", content: "2\\n"}
    - copy: {dest: "{{ out }}/three", content: "3\\n"}
    - copy: {dest: "{{ out }}/four", content: "4\\n"}
    - copy: {dest: "{{ out }}/five", content: "5\\n"}
    - copy: {dest: "{{ out }}/six", content: "6\\n"}
    - copy: {dest: "{{ out }}/real/conf", content: "written\\n"}
    - lineinfile: {path: "{{ out }}/link/conf", line: "edited", create: true}
`;
    const t = testdir({ 'playbooks/site.yml': FILES, 'playbooks/out/real/.keep': '', 'inventory/local.ini': 'box ansible_connection=local\n' });
    const out = join(t.dir, 'playbooks', 'out');
    symlinkSync('real', join(out, 'link'));
    try {
      const r = await runCli(['site.yml', '-i', 'local', '--stats'], { cwd: t.dir });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(readFileSync(join(out, 'real', 'conf'), 'utf8'), 'written\nedited\n');
      assert.equal(recap(r.stdout, 'box').changed, 8, r.stdout);
      // Eight applies, the shell's start with the first probe, and look-ahead batches: with
      // every change emptying the cache it was 16.
      const trips = Number(/box : round_trips=(\d+)/.exec(r.stdout)![1]);
      assert.ok(trips <= 12, `${trips} round trips`);
    } finally {
      t.cleanup();
    }
  });

  it('SENEX_TRACE=1 shows every request and its answer, as many as --stats counts', async () => {
    const t = setup();
    try {
      const r = await runCli(['site.yml', '-i', 'local', '--stats'], { cwd: t.dir, env: { SENEX_TRACE: '1' } });
      assert.equal(r.code, 0, r.stderr);
      const requests = Number(/requests=(\d+)/.exec(r.stdout)![1]);
      assert.equal((r.stderr.match(/^senex trace: request \d+/gm) ?? []).length, requests, r.stderr);
      assert.equal((r.stderr.match(/^senex trace: answer \d+: rc=\d+, \d+ bytes, [\d.]+ ms after it was sent$/gm) ?? []).length, requests, r.stderr);
    } finally {
      t.cleanup();
    }
  });

  it('--check on a fresh tree lists every change and creates nothing', async () => {
    const t = setup();
    try {
      const before = snapshot(t.dir, true);
      const r = await runCli(['site.yml', '-i', 'local', '--check', '--diff'], { cwd: t.dir });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(snapshot(t.dir, true), before);
      assert.match(r.stdout, /would create directory .*\/out/);
      assert.match(r.stdout, /would create .*\/out\/motd/);
      // The command is opaque: skipped under --check, as in Ansible.
      assert.match(r.stdout, /skipping: \[box\]\n\s+would run touch/);
    } finally {
      t.cleanup();
    }
  });

  it('--json writes per-host, per-task results', async () => {
    const t = setup();
    try {
      const r = await runCli(['site.yml', '-i', 'local', '--json', 'out.json'], { cwd: t.dir });
      assert.equal(r.code, 0);
      const doc = JSON.parse(readFileSync(join(t.dir, 'out.json'), 'utf8'));
      assert.equal(doc.plays[0].tasks.length, 10);
      assert.equal(doc.plays[0].tasks[1].hosts.box.status, 'changed');
      assert.equal(typeof doc.plays[0].tasks[1].hosts.box.duration_ms, 'number');
      assert.equal(doc.stats.box.changed, 10);
      assert.ok(doc.transport.box.roundTrips > 0);
    } finally {
      t.cleanup();
    }
  });

  it('--list-tasks, --list-hosts, --list-tags and --syntax-check run nothing', async () => {
    const t = setup();
    try {
      const before = snapshot(t.dir, true);
      const tasks = await runCli(['site.yml', '-i', 'local', '--list-tasks'], { cwd: t.dir });
      assert.match(tasks.stdout, /tasks:\n\s+file\tTAGS: \[\]\n\s+copy/);
      const hosts = await runCli(['site.yml', '-i', 'local', '--list-hosts'], { cwd: t.dir });
      assert.match(hosts.stdout, /hosts \(1\):\n\s+box/);
      const syntax = await runCli(['site.yml', '-i', 'local', '--syntax-check'], { cwd: t.dir });
      assert.equal(syntax.code, 0);
      assert.deepEqual(snapshot(t.dir, true), before);
    } finally {
      t.cleanup();
    }
  });

  it('a failing task fails its host (exit 2) and names task and place', async () => {
    const t = testdir({
      'site.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: boom\n      command: /bin/false\n    - name: after\n      debug: {msg: not reached}\n',
    });
    try {
      const r = await runCli(['site.yml', '-i', 'h1,', '-c', 'local'], { cwd: t.dir });
      assert.equal(r.code, 2);
      assert.match(r.stdout, /fatal: \[h1\]: FAILED! => non-zero return code/);
      assert.doesNotMatch(r.stdout, /TASK \[after\]/);
      assert.deepEqual(recap(r.stdout, 'h1'), { ok: 0, changed: 0, unreachable: 0, failed: 1, skipped: 0, rescued: 0, ignored: 0 });
    } finally {
      t.cleanup();
    }
  });

  it('an undefined variable at run time names the variable, task and position', async () => {
    const t = testdir({
      // Defined only on the other host: the static check passes, the run fails on h2.
      'site.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: needs x\n      debug: {msg: "{{ x }}"}\n',
      'inv.yml': 'all:\n  hosts:\n    h1: {x: 1, ansible_connection: local}\n    h2: {ansible_connection: local}\n',
    });
    try {
      const r = await runCli(['site.yml', '-i', 'inv.yml'], { cwd: t.dir });
      assert.equal(r.code, 2);
      assert.match(r.stdout, /fatal: \[h2\]: FAILED! => 'x' is undefined \(at site\.yml:5:24\) \(in task 'needs x' at site\.yml:4:7\)/);
      assert.equal(recap(r.stdout, 'h1').ok, 1);
    } finally {
      t.cleanup();
    }
  });
});
