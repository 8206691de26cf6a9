import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recap, runCli } from './helpers/cli.js';
import { testdir } from './helpers/testdir.js';

/** Runs a one-play playbook on local hosts h1..hN in a temp dir. */
async function runPlay(body: string, opts: { hosts?: number; args?: string[]; files?: Record<string, string> } = {}) {
  const n = opts.hosts ?? 1;
  const inv = `all:\n  vars: {ansible_connection: local}\n  hosts:\n${Array.from({ length: n }, (_, i) => `    h${i + 1}:`).join('\n')}\n`;
  const t = testdir({ 'site.yml': `- hosts: all\n  gather_facts: false\n${body}`, 'inv.yml': inv, ...(opts.files ?? {}) });
  try {
    const r = await runCli(['site.yml', '-i', 'inv.yml', ...(opts.args ?? [])], { cwd: t.dir });
    return { ...r, dir: t.dir, read: (p: string) => readFileSync(join(t.dir, p), 'utf8') };
  } finally {
    setTimeout(() => t.cleanup(), 0);
  }
}

const order = (stdout: string) => [...stdout.matchAll(/^(?:ok|changed|fatal|skipping): \[(h\d)\]/gm)].map((m) => m[1]);

describe('engine behaviour (local connection)', function () {
  this.timeout(60_000);

  it('serial runs the play in batches', async () => {
    const r = await runPlay('  serial: 2\n  tasks:\n    - debug: {msg: one}\n    - debug: {msg: two}\n', { hosts: 3 });
    assert.equal(r.code, 0);
    const seen = order(r.stdout);
    assert.equal(seen.length, 6);
    assert.deepEqual(seen.slice(4), ['h3', 'h3'], 'the second batch runs after the first has finished');
    assert.equal(r.stdout.split('TASK [debug]').length - 1, 4, 'two tasks for each of two batches');
  });

  it('any_errors_fatal stops every host at the first failure', async () => {
    const r = await runPlay('  any_errors_fatal: true\n  tasks:\n    - command: "false"\n      when: inventory_hostname == "h1"\n    - debug: {msg: after}\n', { hosts: 2 });
    assert.equal(r.code, 2);
    assert.doesNotMatch(r.stdout, /TASK \[debug\]/);
  });

  it('max_fail_percentage stops the play when exceeded', async () => {
    const r = await runPlay('  max_fail_percentage: 30\n  tasks:\n    - command: "false"\n      when: inventory_hostname in ["h1", "h2"]\n    - debug: {msg: after}\n', { hosts: 4 });
    assert.equal(r.code, 2);
    assert.match(r.stdout, /max_fail_percentage 30% exceeded \(2 of 4 hosts failed\)/);
    assert.doesNotMatch(r.stdout, /TASK \[debug\]/);
  });

  it('until/retries/delay retry a task until its condition holds', async () => {
    const r = await runPlay(`  tasks:\n    - shell: 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo $n'\n      args: {chdir: "{{ playbook_dir }}"}\n      register: r\n      until: r.stdout == "3"\n      retries: 5\n      delay: 0\n    - debug: {var: r.attempts}\n`);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /"r.attempts": 3/);
  });

  it('when retries run out, the failure says the last attempt\'s error and how often it was tried', async () => {
    const r = await runPlay(`  tasks:\n    - name: never starts\n      command: sh -c 'echo "unit would not start" >&2; exit 3'\n      register: r\n      until: r.rc == 0\n      retries: 2\n      delay: 0\n`);
    assert.equal(r.code, 2, r.stdout);
    const fatal = r.stdout.split('\n').find((l) => l.startsWith('fatal: [h1]'));
    assert.ok(fatal, r.stdout);
    assert.match(r.stdout, /unit would not start/);
    assert.match(fatal, /until never held after 3 attempts: r\.rc == 0/);
    const retries = r.stdout.split('\n').filter((l) => l.startsWith('FAILED - RETRYING: [h1]: never starts'));
    assert.deepEqual(retries.map((l) => /\((\d) retries left\)\. non-zero return code$/.exec(l)?.[1]), ['2', '1'], r.stdout);
  });

  it('a no_log task retries without showing what its attempts said', async () => {
    const r = await runPlay(`  tasks:\n    - name: secret step\n      fail: {msg: "token s3cret-value"}\n      register: r\n      until: false\n      retries: 1\n      delay: 0\n      no_log: true\n`);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stdout, /^FAILED - RETRYING: \[h1\]: secret step \(1 retries left\)\.$/m);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret-value/);
  });

  it('environment reaches commands; become_user-free local run', async () => {
    const r = await runPlay('  environment: {GREETING: hello}\n  tasks:\n    - shell: echo "$GREETING $EXTRA"\n      environment: {EXTRA: "world"}\n      register: out\n    - assert: {that: [\'out.stdout == "hello world"\']}\n');
    assert.equal(r.code, 0, r.stdout);
  });

  it('--start-at-task skips everything before the named task', async () => {
    const r = await runPlay('  tasks:\n    - name: first\n      debug: {msg: 1}\n    - name: second\n      debug: {msg: 2}\n    - name: third\n      debug: {msg: 3}\n', { args: ['--start-at-task', 'sec*'] });
    assert.deepEqual([...r.stdout.matchAll(/^TASK \[(\w+)\]/gm)].map((m) => m[1]), ['second', 'third']);
  });

  it('role argument_specs are checked on each host before the first task', async () => {
    const r = await runPlay('  roles:\n    - {role: web, web_port: "not a number"}\n', {
      files: {
        'roles/web/meta/argument_specs.yml': 'argument_specs:\n  main:\n    options:\n      web_port: {type: int, required: true}\n      web_mode: {type: str, choices: [a, b]}\n',
        'roles/web/tasks/main.yml': '- copy: {dest: "{{ playbook_dir }}/ran", content: "x"}\n',
      },
    });
    assert.equal(r.code, 2);
    assert.match(r.stdout, /role 'web' \(site\.yml:4:7\): 'web_port' in role 'web' arguments must be an integer, not the string "not a number"; see roles\/web\/meta\/argument_specs\.yml:3:5/);
    assert.doesNotMatch(r.stdout, /TASK \[web : copy\]/);
  });

  it('no_log hides results, messages and diffs', async () => {
    const r = await runPlay('  vars: {token: s3cr3t-value}\n  tasks:\n    - copy: {dest: "{{ playbook_dir }}/tok", content: "{{ token }}"}\n      no_log: true\n    - fail: {msg: "bad {{ token }}"}\n      no_log: true\n', { args: ['--diff', '-vvv'] });
    assert.equal(r.code, 2);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cr3t/);
    assert.match(r.stdout, /content hidden/);
    assert.equal(r.read('tok'), 's3cr3t-value');
  });

  it('handlers run once, in definition order, after the section that notified them', async () => {
    const r = await runPlay('  tasks:\n    - {copy: {dest: "{{ playbook_dir }}/a", content: a}, notify: [h2, h1]}\n    - {copy: {dest: "{{ playbook_dir }}/b", content: b}, notify: h1}\n    - debug: {msg: tasks done}\n  handlers:\n    - {name: h1, debug: {msg: h1}}\n    - {name: h2, debug: {msg: h2}, listen: topic}\n');
    assert.deepEqual([...r.stdout.matchAll(/^(?:TASK|RUNNING HANDLER) \[(\w+[^\]]*)\]/gm)].map((m) => m[1]), ['copy', 'copy', 'debug', 'h1', 'h2']);
  });

  it('every handler listening to a topic runs, and a handler may notify a later one', async () => {
    const r = await runPlay('  tasks:\n    - {copy: {dest: "{{ playbook_dir }}/a", content: a}, notify: reload web}\n  handlers:\n    - {name: check config, debug: {msg: check}, listen: reload web}\n    - {name: rebuild map, debug: {msg: map}, changed_when: true, notify: reload svc}\n    - {name: reload service, debug: {msg: reload}, listen: [reload web, reload svc]}\n');
    assert.deepEqual([...r.stdout.matchAll(/^(?:TASK|RUNNING HANDLER) \[(\w+[^\]]*)\]/gm)].map((m) => m[1]), ['copy', 'check config', 'reload service']);
  });

  it('a validate command that rejects the content leaves the old file in place', async () => {
    const r = await runPlay('  tasks:\n    - copy: {dest: "{{ playbook_dir }}/conf", content: "good\\n"}\n    - copy: {dest: "{{ playbook_dir }}/conf", content: "bad\\n", validate: "grep -q good %s"}\n');
    assert.equal(r.code, 2);
    assert.match(r.stdout, /failed to validate/);
    assert.equal(r.read('conf'), 'good\n');
    assert.deepEqual(recap(r.stdout, 'h1'), { ok: 1, changed: 1, unreachable: 0, failed: 1, skipped: 0, rescued: 0, ignored: 0 });
  });
});

describe('probe cache: what a change reaches', () => {
  it('a path, its directories and what lies below it; a new directory has nothing below it', async () => {
    const { reaches } = await import('../src/engine/host-run.js');
    const write = { name: '/etc/app/conf', below: true };
    const mkdir = { name: '/etc/app', below: false };
    const reached = (t: typeof write, paths: string[]) => paths.filter((p) => reaches(t, p));
    const paths = ['/etc/app/conf', '/etc/app', '/etc', '/', '/etc/app/conf/x', '/etc/app/confx', '/etc/app/other', '/etc/ap'];
    assert.deepEqual(reached(write, paths), ['/etc/app/conf', '/etc/app', '/etc', '/', '/etc/app/conf/x']);
    assert.deepEqual(reached(mkdir, paths), ['/etc/app', '/etc', '/']);
    assert.deepEqual(reached({ name: '/', below: true }, paths), paths);
  });
});
