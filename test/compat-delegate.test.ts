import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recap, runCli } from './helpers/cli.js';
import { USERS, withSshds } from './helpers/sshd.js';
import { testdir } from './helpers/testdir.js';

// delegate_to, local_action, delegate_facts and remote_user over real loopback sshds: each
// sshd is a host of its own; which one a command ran on is told by the server port in
// SSH_CONNECTION, and who it ran as by `id -un`.
describe('compatibility: delegate_to, local_action, delegate_facts, remote_user (loopback sshd)', function () {
  this.timeout(120_000);
  const sshds = withSshds(2);
  let t: ReturnType<typeof testdir>;
  beforeEach(() => (t = testdir()));
  afterEach(() => t.cleanup());

  const inventory = (withUser: boolean) => {
    const { keys, servers } = sshds;
    const known = join(t.dir, 'known_hosts');
    writeFileSync(known, servers.map((s) => s.knownHostsLine()).join('\n') + '\n');
    const user = withUser ? `    ansible_user: ${USERS.nopw}\n` : '';
    writeFileSync(
      join(t.dir, 'inventory.yml'),
      `all:\n  vars:\n    ansible_host: 127.0.0.1\n${user}    ansible_ssh_private_key_file: ${keys.plain}\n    ansible_ssh_common_args: "-o UserKnownHostsFile=${known}"\n  hosts:\n    web: {ansible_port: ${servers[0]!.port}}\n    db: {ansible_port: ${servers[1]!.port}}\n`,
    );
  };
  const where = 'id -un; echo "port=${SSH_CONNECTION##* }"';

  it('runs on the delegated host (its connection variables), on localhost locally, and registers on the original host', async () => {
    inventory(true);
    writeFileSync(
      join(t.dir, 'site.yml'),
      `- hosts: web
  gather_facts: false
  tasks:
    - shell: '${where}'
      register: r_self
      changed_when: false
    - shell: '${where}'
      delegate_to: db
      register: r_db
      changed_when: false
    - shell: '${where}'
      delegate_to: "{{ 'local' ~ 'host' }}"
      register: r_local
      changed_when: false
    - shell: '${where}'
      delegate_to: 127.0.0.1
      register: r_lo
      changed_when: false
    - local_action: 'shell ${where}'
      register: r_la
      changed_when: false
    - name: results land on web, written on the controller
      local_action:
        module: copy
        dest: ${t.dir}/results.json
        content: "{{ {'self': r_self.stdout_lines, 'db': r_db.stdout_lines, 'local': r_local.stdout_lines, 'lo': r_lo.stdout_lines, 'la': r_la.stdout_lines, 'web_has': hostvars['web'].r_db is defined, 'db_has': hostvars['db'].r_db is defined} | to_json }}"
`,
    );
    const r = await runCli(['site.yml', '-i', 'inventory.yml'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const got = JSON.parse(readFileSync(join(t.dir, 'results.json'), 'utf8')) as Record<string, unknown>;
    const [web, db] = sshds.servers.map((s) => `port=${s.port}`);
    assert.deepEqual(got.self, [USERS.nopw, web]);
    assert.deepEqual(got.db, [USERS.nopw, db]);
    // localhost and 127.0.0.1 are not in the inventory: Ansible's implicit localhost, no SSH.
    for (const k of ['local', 'lo', 'la']) assert.deepEqual(got[k], ['root', 'port='], k);
    assert.equal(got.web_has, true);
    assert.equal(got.db_has, false);
    assert.match(r.stdout, /ok: \[web -> 127\.0\.0\.1\]/);
    // Shown by its ansible_host, which the implicit localhost takes from the group all (as in Ansible).
    assert.match(r.stdout, /changed: \[web -> 127\.0\.0\.1\]/);
    assert.deepEqual(recap(r.stdout, 'web'), { ok: 6, changed: 1, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 });
    assert.equal(/^db\s*:/m.test(r.stdout), false, 'a delegated host is not in the recap');
  });

  it('a delegated change is planned under --check on the delegated host, and applied there', async () => {
    inventory(true);
    const target = `/tmp/senex-delegate-${process.pid}-${Date.now()}`;
    writeFileSync(
      join(t.dir, 'site.yml'),
      `- hosts: web
  gather_facts: false
  tasks:
    - copy: {dest: "${target}", content: "from {{ inventory_hostname }}\\n"}
      delegate_to: db
    - shell: 'stat -c %U ${target}; echo "port=\${SSH_CONNECTION##* }"'
      delegate_to: db
      register: who
      changed_when: false
      check_mode: false
      failed_when: false
    - local_action: {module: copy, dest: "${t.dir}/who", content: "{{ who.stdout }}"}
      check_mode: false
`,
    );
    try {
      const check = await runCli(['site.yml', '-i', 'inventory.yml', '--check'], { cwd: t.dir });
      assert.equal(check.code, 0, check.stdout + check.stderr);
      assert.match(check.stdout, /changed: \[web -> 127\.0\.0\.1\]/);
      assert.equal(readFileSync(join(t.dir, 'who'), 'utf8'), `port=${sshds.servers[1]!.port}`, 'nothing written under --check');
      const run = await runCli(['site.yml', '-i', 'inventory.yml'], { cwd: t.dir });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.equal(readFileSync(target, 'utf8'), 'from web\n', "the task's variables are web's");
      assert.equal(readFileSync(join(t.dir, 'who'), 'utf8'), `${USERS.nopw}\nport=${sshds.servers[1]!.port}`);
      const again = await runCli(['site.yml', '-i', 'inventory.yml'], { cwd: t.dir });
      assert.match(again.stdout, /ok: \[web -> 127\.0\.0\.1\]/, 'idempotent on the delegated host');
    } finally {
      rmSync(target, { force: true });
    }
  });

  it('delegate_facts puts set_fact and gathered facts on the delegated host; without it they stay on the original', async () => {
    inventory(true);
    writeFileSync(
      join(t.dir, 'site.yml'),
      `- hosts: web
  gather_facts: false
  tasks:
    - set_fact: {marker_db: yes}
      delegate_to: db
      delegate_facts: true
    - set_fact: {marker_web: yes}
      delegate_to: db
    - local_action:
        module: copy
        dest: ${t.dir}/facts.json
        content: "{{ {'db_db': hostvars['db'].marker_db | default('undef'), 'web_db': hostvars['web'].marker_db | default('undef'), 'web_web': hostvars['web'].marker_web | default('undef'), 'db_web': hostvars['db'].marker_web | default('undef')} | to_json }}"
`,
    );
    const r = await runCli(['site.yml', '-i', 'inventory.yml'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(join(t.dir, 'facts.json'), 'utf8')), { db_db: true, web_db: 'undef', web_web: true, db_web: 'undef' });
  });

  it('remote_user on a play and on a task logs in as that user; ansible_user of the host wins over both', async () => {
    inventory(false);
    writeFileSync(
      join(t.dir, 'site.yml'),
      `- hosts: all
  gather_facts: true
  remote_user: ${USERS.pw}
  tasks:
    - command: id -un
      register: play_user
      changed_when: false
    - command: id -un
      remote_user: ${USERS.nopw}
      register: task_user
      changed_when: false
    - local_action: {module: copy, dest: "${t.dir}/users-{{ inventory_hostname }}", content: "{{ ansible_user_id | default('?') }} {{ play_user.stdout }} {{ task_user.stdout }}"}
`,
    );
    const r = await runCli(['site.yml', '-i', 'inventory.yml', '-e', '{}', '-u', 'root'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(join(t.dir, 'users-web'), 'utf8'), `${USERS.pw} ${USERS.pw} ${USERS.nopw}`);
    // db gets ansible_user from the command line's -e: a variable, above every keyword.
    const r2 = await runCli(['site.yml', '-i', 'inventory.yml', '-e', `ansible_user=${USERS.nopw}`, '--limit', 'db'], { cwd: t.dir });
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    assert.equal(readFileSync(join(t.dir, 'users-db'), 'utf8'), `${USERS.nopw} ${USERS.nopw} ${USERS.nopw}`);
  });

  it('a wrong local_action is a load error at its position', async () => {
    inventory(true);
    writeFileSync(join(t.dir, 'site.yml'), `- hosts: web\n  gather_facts: false\n  tasks:\n    - local_action: {src: x}\n`);
    const r = await runCli(['site.yml', '-i', 'inventory.yml', '--syntax-check'], { cwd: t.dir });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /site\.yml:4:\d+.*local_action needs a module/s);
  });
});
