import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recap, runCli } from './helpers/cli.js';
import { testdir } from './helpers/testdir.js';

// What third-party roles need to load and run, on the local connection.
describe('compatibility with roles written for ansible-playbook (local connection)', function () {
  this.timeout(60_000);

  it('a module of another system loads; a host that reaches it fails and is told why, the others skip it', async () => {
    const t = testdir({
      'site.yml': `
- hosts: all
  gather_facts: false
  tasks:
    - name: Red Hat branch
      yum: {name: httpd, state: present, enablerepo: epel}
      when: reach_it | default(false)
    - name: Windows branch
      win_shell: Get-Process
      when: reach_it | default(false)
    - name: package passes other systems' arguments on
      package: {name: httpd, enablerepo: epel}
      when: reach_it | default(false)
    - copy: {dest: "{{ playbook_dir }}/after", content: "x\\n"}
`,
    });
    try {
      const load = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local', '--syntax-check'], { cwd: t.dir });
      assert.equal(load.code, 0, load.stderr);
      const skipped = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local'], { cwd: t.dir });
      assert.equal(skipped.code, 0, skipped.stdout + skipped.stderr);
      assert.deepEqual(recap(skipped.stdout, 'localhost'), { ok: 1, changed: 1, unreachable: 0, failed: 0, skipped: 3, rescued: 0, ignored: 0 });
      const reached = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local', '-e', 'reach_it=true', '--check'], { cwd: t.dir });
      assert.equal(reached.code, 2, reached.stdout);
      assert.match(reached.stdout, /module 'yum' is for Red Hat \(yum\); senex-play runs Debian hosts/);
    } finally {
      t.cleanup();
    }
  });

  it('package with an argument apt lacks fails only where it runs, naming the argument', async () => {
    const t = testdir({ 'site.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - package: {name: httpd, enablerepo: epel}\n' });
    try {
      const r = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local', '--check'], { cwd: t.dir });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout, /Unsupported parameters for \(apt\) module: enablerepo/);
    } finally {
      t.cleanup();
    }
  });

  it('include (Ansible 2.14) imports a fixed file with its k=v variables, and includes a templated one at run time', async () => {
    const t = testdir({
      'site.yml': `
- hosts: all
  gather_facts: false
  vars: {which: dynamic}
  tasks:
    - include: static.yml greeting=hello
    - include: "{{ which }}.yml"
`,
      'static.yml': '- copy: {dest: "{{ playbook_dir }}/static.out", content: "{{ greeting }}\\n"}\n',
      'dynamic.yml': '- copy: {dest: "{{ playbook_dir }}/dynamic.out", content: "dyn\\n"}\n',
    });
    try {
      const r = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local'], { cwd: t.dir });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(readFileSync(join(t.dir, 'static.out'), 'utf8'), 'hello\n');
      assert.equal(readFileSync(join(t.dir, 'dynamic.out'), 'utf8'), 'dyn\n');
    } finally {
      t.cleanup();
    }
  });

  it('a lookup that fails fails its task with the lookup\'s reason; url says why it cannot fetch', async () => {
    const t = testdir({
      'site.yml': `
- hosts: all
  gather_facts: false
  tasks:
    - debug: {msg: "{{ lookup('url', 'https://example.com/x') }}"}
      ignore_errors: true
    - debug: {msg: "{{ lookup('first_found', ['a', 'b']) }}"}
`,
    });
    try {
      const r = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local'], { cwd: t.dir });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout, /the url lookup cannot fetch https:\/\/example.com\/x: senex-play does not make network requests/);
      assert.match(r.stdout, /No file was found when using first_found/);
      assert.match(r.stdout, /site.yml:7:/);
    } finally {
      t.cleanup();
    }
  });

  it('lookup password keeps a new password in a file only the user can read, and masks it in the output', async () => {
    const t = testdir({
      'site.yml': `
- hosts: all
  gather_facts: false
  tasks:
    - debug: {msg: "pw={{ lookup('password', 'secrets/db length=16') }}"}
`,
    });
    try {
      const r = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local'], { cwd: t.dir });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const file = join(t.dir, 'secrets', 'db');
      assert.ok(existsSync(file));
      const pw = readFileSync(file, 'utf8').trim();
      assert.equal(pw.length, 16);
      assert.ok(!r.stdout.includes(pw), 'the password was printed');
      const { statSync } = await import('node:fs');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(join(t.dir, 'secrets')).mode & 0o777, 0o700);
    } finally {
      t.cleanup();
    }
  });
});
