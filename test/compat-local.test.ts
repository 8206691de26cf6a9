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

describe('where roles come from, as ansible-playbook finds them', function () {
  this.timeout(60_000);
  const ROLE_TASK = (text: string) => `- copy: {dest: "{{ playbook_dir }}/out-{{ role_name }}", content: "${text}\\n"}\n`;

  it('ANSIBLE_ROLES_PATH, else roles_path of ./ansible.cfg (relative to the file), and ANSIBLE_CONFIG', async () => {
    const t = testdir({
      'play/site.yml': '- hosts: all\n  gather_facts: false\n  roles: [web]\n',
      'from-env/web/tasks/main.yml': ROLE_TASK('env'),
      'from-cfg/web/tasks/main.yml': ROLE_TASK('cfg'),
      'play/ansible.cfg': '[defaults]\n# where the roles are\nroles_path = ../nothing-here:../from-cfg\n',
      'other.cfg': '[defaults]\nroles_path: from-env\n',
    });
    try {
      const { chmodSync } = await import('node:fs');
      chmodSync(join(t.dir, 'play'), 0o755);
      const cwd = join(t.dir, 'play');
      const base = { ANSIBLE_ROLES_PATH: '', ANSIBLE_CONFIG: '' };
      const cfg = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local'], { cwd, env: base });
      assert.equal(cfg.code, 0, cfg.stdout + cfg.stderr);
      assert.equal(readFileSync(join(cwd, 'out-web'), 'utf8'), 'cfg\n');
      const env = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local'], { cwd, env: { ...base, ANSIBLE_ROLES_PATH: join(t.dir, 'from-env') } });
      assert.equal(env.code, 0, env.stdout + env.stderr);
      assert.equal(readFileSync(join(cwd, 'out-web'), 'utf8'), 'env\n');
      const named = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local'], { cwd, env: { ...base, ANSIBLE_CONFIG: join(t.dir, 'other.cfg') } });
      assert.equal(named.code, 0, named.stdout + named.stderr);
      assert.equal(readFileSync(join(cwd, 'out-web'), 'utf8'), 'env\n');
    } finally {
      t.cleanup();
    }
  });

  it('./ansible.cfg in a world-writable directory is ignored, with a warning', async () => {
    const t = testdir({
      'site.yml': '- hosts: all\n  gather_facts: false\n  roles: [web]\n',
      'planted/web/tasks/main.yml': ROLE_TASK('planted'),
      'ansible.cfg': '[defaults]\nroles_path = planted\n',
    });
    try {
      const { chmodSync } = await import('node:fs');
      chmodSync(t.dir, 0o777);
      const r = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local', '--syntax-check'], { cwd: t.dir, env: { ANSIBLE_ROLES_PATH: '', ANSIBLE_CONFIG: '' } });
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(r.stderr, /ignoring .*ansible\.cfg: its directory is world-writable/);
      assert.match(r.stderr, /role 'web' not found/);
    } finally {
      t.cleanup();
    }
  });

  it('a collection role by FQCN, by the collections: keyword, and its own plain-named dependency', async () => {
    const coll = 'colls/ansible_collections/acme/web/roles';
    const t = testdir({
      'site.yml': `
- hosts: all
  gather_facts: false
  roles: [acme.web.server]
- hosts: all
  gather_facts: false
  collections: [acme.web]
  tasks:
    - include_role: {name: helper}
`,
      [`${coll}/server/meta/main.yml`]: 'dependencies: [helper]\n',
      [`${coll}/server/tasks/main.yml`]: '- copy: {dest: "{{ playbook_dir }}/server", content: "{{ role_path | basename }}\\n"}\n',
      [`${coll}/helper/tasks/main.yml`]: '- lineinfile: {path: "{{ playbook_dir }}/helper", line: "ran {{ inventory_hostname }}", create: true}\n- lineinfile: {path: "{{ playbook_dir }}/helper", line: "again", create: true}\n',
    });
    try {
      const r = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local'], { cwd: t.dir, env: { ANSIBLE_COLLECTIONS_PATH: join(t.dir, 'colls'), ANSIBLE_CONFIG: '' } });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /TASK \[acme\.web\.server : copy\]/);
      assert.equal(readFileSync(join(t.dir, 'server'), 'utf8'), 'server\n');
      assert.equal(readFileSync(join(t.dir, 'helper'), 'utf8'), 'ran localhost\nagain\n');
      const missing = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local', '--syntax-check'], { cwd: t.dir, env: { ANSIBLE_COLLECTIONS_PATH: join(t.dir, 'nowhere'), ANSIBLE_CONFIG: '' } });
      assert.equal(missing.code, 4);
      assert.match(missing.stderr, /site\.yml:4:11: error: role 'acme\.web\.server' not found/);
    } finally {
      t.cleanup();
    }
  });
});

describe('ansible-playbook command lines', function () {
  this.timeout(60_000);

  it('several playbooks run in order as one run; -i repeats (with --inventory-file) and adds up; aliases and --force-handlers', async () => {
    const t = testdir({
      'a.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - lineinfile: {path: "{{ playbook_dir }}/order-{{ inventory_hostname }}", line: "a", create: true}\n',
      'b.yml': `- hosts: all
  gather_facts: false
  tasks:
    - lineinfile: {path: "{{ playbook_dir }}/order-{{ inventory_hostname }}", line: "b", create: true}
      notify: note
    - fail: {msg: stop here}
  handlers:
    - name: note
      lineinfile: {path: "{{ playbook_dir }}/order-{{ inventory_hostname }}", line: "handler", create: true}
`,
      'vault-pass': 'pw\n',
    });
    try {
      const r = await runCli(['a.yml', 'b.yml', '-i', 'one,', '--inventory-file', 'two,', '-c', 'local', '--force-handlers', '--flush-cache', '--key-file', '/dev/null', '--vault-pass-file=vault-pass'], { cwd: t.dir });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      // Each host's lines in run order: both playbooks, then the handler despite the failure.
      for (const host of ['one', 'two']) assert.equal(readFileSync(join(t.dir, `order-${host}`), 'utf8'), 'a\nb\nhandler\n');
      assert.equal(r.stdout.match(/PLAY RECAP/g)?.length, 1);
      assert.deepEqual(recap(r.stdout, 'one'), { ok: 3, changed: 3, unreachable: 0, failed: 1, skipped: 0, rescued: 0, ignored: 0 });
      const syntax = await runCli(['a.yml', 'b.yml', '-i', 'one,', '--syntax-check'], { cwd: t.dir });
      assert.equal(syntax.code, 0, syntax.stderr);
      assert.match(syntax.stdout, /playbook: .*a\.yml\n\nplaybook: .*b\.yml/);
    } finally {
      t.cleanup();
    }
  });
});
