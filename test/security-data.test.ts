import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encryptVault } from '../src/vault/format.js';
import { runCli, startCli, type LiveRun } from './helpers/cli.js';
import { USERS, withSshds } from './helpers/sshd.js';
import { testdir } from './helpers/testdir.js';

const PW = 'correct horse battery staple';
const VAULT = { label: 'default', password: PW, source: 'test' };

// Issue 16: what a host sends back is data, and secrets stay masked in every form they take.
// These run over the local connection (a host is a shell on this machine); the cross-host
// ones over loopback sshd are further down.
describe('security: data and secrets (issue 16)', function () {
  this.timeout(120_000);
  let t: ReturnType<typeof testdir>;
  beforeEach(() => (t = testdir({ 'inventory.ini': 'box ansible_connection=local\n' })));
  afterEach(() => t.cleanup());

  const play = (tasks: string, vars = '') => `- hosts: all\n  gather_facts: false\n  vars:\n    out: ${t.dir}/out\n${vars}  tasks:\n    - file: {path: "{{ out }}", state: directory}\n${tasks}`;

  it('commands under connection: local see neither SENEX_VAULT_PASSWORD nor SENEX_SSH_PASSPHRASE (item 14)', async () => {
    writeFileSync(join(t.dir, 'site.yml'), play(`    - shell: env > {{ out }}/env.txt\n`));
    const r = await runCli(['site.yml', '-i', 'inventory.ini'], { cwd: t.dir, env: { SENEX_VAULT_PASSWORD: 'vault-pw-in-env', SENEX_SSH_PASSPHRASE: 'passphrase-in-env', ANSIBLE_VAULT_PASSWORD_FILE: '' } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const seen = readFileSync(join(t.dir, 'out/env.txt'), 'utf8');
    assert.match(seen, /^PATH=/m, 'the command ran with an environment');
    assert.doesNotMatch(seen, /SENEX_VAULT_PASSWORD|vault-pw-in-env/);
    assert.doesNotMatch(seen, /SENEX_SSH_PASSPHRASE|passphrase-in-env/);
  });

  it('--json FILE replaces a symlink instead of writing its target, and is 0600 even if it was 0644 (item 12)', async () => {
    writeFileSync(join(t.dir, 'site.yml'), play(''));
    writeFileSync(join(t.dir, 'victim'), 'untouched\n', { mode: 0o644 });
    symlinkSync(join(t.dir, 'victim'), join(t.dir, 'link.json'));
    writeFileSync(join(t.dir, 'old.json'), '{}\n', { mode: 0o644 });
    const r = await runCli(['site.yml', '-i', 'inventory.ini', '--json', 'link.json'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(join(t.dir, 'victim'), 'utf8'), 'untouched\n');
    assert.ok(lstatSync(join(t.dir, 'link.json')).isFile(), 'the symlink was replaced by a file');
    assert.equal(lstatSync(join(t.dir, 'link.json')).mode & 0o777, 0o600);
    assert.ok(JSON.parse(readFileSync(join(t.dir, 'link.json'), 'utf8')).plays);
    const again = await runCli(['site.yml', '-i', 'inventory.ini', '--json', 'old.json'], { cwd: t.dir });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(statSync(join(t.dir, 'old.json')).mode & 0o777, 0o600);
  });

  /** group_vars/all.yml beside the inventory, each value a `!vault` of its own. */
  function vaulted(values: Record<string, string>): void {
    mkdirSync(join(t.dir, 'group_vars'));
    const yaml = Object.entries(values).map(([k, v]) => `${k}: !vault |\n${encryptVault(v, VAULT).trimEnd().split('\n').map((l) => `  ${l}`).join('\n')}\n`);
    writeFileSync(join(t.dir, 'group_vars/all.yml'), yaml.join(''));
    writeFileSync(join(t.dir, 'pw'), `${PW}\n`);
  }

  it('a secret holding quotes and backslashes is masked in JSON, Python repr and shell-quoted forms; a from_json error does not quote it (item 6)', async () => {
    const QUOTED = `pa"ss\\wo'rd-42`;
    const LONG = 'not-json-but-a-long-secret-value';
    vaulted({ vault_q: QUOTED, vault_long: LONG });
    const tasks =
      `    - debug: {var: vault_q}\n` +
      `    - debug: {msg: "{{ {'k': vault_q} }}"}\n` +
      `    - debug: {msg: "{{ [vault_q] | to_json }}"}\n` +
      `    - shell: "echo {{ vault_q | quote }} >/dev/null"\n` +
      `    - debug: {msg: "{{ vault_long | from_json }}"}\n      ignore_errors: true\n`;
    writeFileSync(join(t.dir, 'site.yml'), play(tasks));
    const r = await runCli(['site.yml', '-i', 'inventory.ini', '--vault-password-file', 'pw', '-v', '--json', 'run.json'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /from_json/, 'the from_json task failed and said so');
    const forms = [QUOTED, JSON.stringify(QUOTED).slice(1, -1), `pa"ss\\\\wo\\'rd-42`, `pa"ss\\wo'\\''rd-42`, 'pa\\"ss', LONG.slice(0, 10)];
    for (const [where, text] of [['stdout', r.stdout], ['stderr', r.stderr], ['run.json', readFileSync(join(t.dir, 'run.json'), 'utf8')]] as const) {
      for (const form of forms) assert.ok(!text.includes(form), `${where} shows ${form}:\n${text}`);
    }
  });

  it('values computed from a secret are masked in --diff and --check --diff, and new files holding one are 0600 (item 7)', async () => {
    const SECRET = 'Zx9-derived-source-pw';
    vaulted({ vault_pw: SECRET });
    const b64 = Buffer.from(SECRET).toString('base64');
    const basic = Buffer.from(`admin:${SECRET}`).toString('base64');
    writeFileSync(join(t.dir, 'app.ini.j2'), '[main]\nuser = {{ user }}\nkey = {{ vault_pw | b64encode }}\n');
    const tasks =
      `    - copy: {dest: "{{ out }}/b64", content: "{{ vault_pw | b64encode }}\\n"}\n` +
      `    - copy: {dest: "{{ out }}/basic", content: "Authorization: Basic {{ (user ~ ':' ~ vault_pw) | b64encode }}\\n"}\n` +
      `    - copy: {dest: "{{ out }}/cut", content: "{{ vault_pw[0:12] }} {{ vault_pw | upper }}\\n"}\n` +
      `    - template: {src: app.ini.j2, dest: "{{ out }}/app.ini"}\n` +
      `    - debug: {msg: "{{ vault_pw | b64encode }} {{ vault_pw | upper }}"}\n`;
    writeFileSync(join(t.dir, 'site.yml'), play(tasks, '    user: admin\n'));
    const shown = [b64, basic, SECRET.toUpperCase(), SECRET.slice(0, 12), SECRET];
    for (const args of [['--check', '--diff'], ['--diff', '-v']]) {
      const r = await runCli(['site.yml', '-i', 'inventory.ini', '--vault-password-file', 'pw', ...args], { cwd: t.dir });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /content hidden: /, `${args.join(" ")}: the diffs are there, hidden:\n${r.stdout}`);
      for (const s of shown) assert.ok(!(r.stdout + r.stderr).includes(s), `${args.join(' ')} shows ${s}:\n${r.stdout}`);
    }
    const file = (name: string) => join(t.dir, 'out', name);
    assert.equal(readFileSync(file('b64'), 'utf8'), `${b64}\n`);
    assert.equal(readFileSync(file('basic'), 'utf8'), `Authorization: Basic ${basic}\n`);
    assert.equal(readFileSync(file('app.ini'), 'utf8'), `[main]\nuser = admin\nkey = ${b64}\n`);
    for (const name of ['b64', 'basic', 'cut', 'app.ini']) assert.equal(statSync(file(name)).mode & 0o777, 0o600, `${name} is 0600`);
  });

  it('!unsafe values are never templated, as under Ansible (item 2)', async () => {
    const RAW = `{{ lookup('pipe', 'touch ${t.dir}/canary') }} {% if %}\n{{ undefined_name }}`;
    const tasks = `    - copy: {dest: "{{ out }}/raw", content: "{{ raw_text }}\\n"}\n    - copy:\n        dest: "{{ out }}/direct"\n        content: !unsafe "{{ nope }}\\n"\n`;
    writeFileSync(join(t.dir, 'site.yml'), play(tasks, `    raw_text: !unsafe ${JSON.stringify(RAW)}\n    copied: "{{ raw_text }}"\n`));
    const r = await runCli(['site.yml', '-i', 'inventory.ini'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(join(t.dir, 'out/raw'), 'utf8'), `${RAW}\n`);
    assert.equal(readFileSync(join(t.dir, 'out/direct'), 'utf8'), '{{ nope }}\n');
    assert.equal(existsSync(join(t.dir, 'canary')), false);
  });

  for (const level of ['1', '2']) {
    it(`SENEX_TRACE=${level} does not print a no_log task's command line (item 8)`, async () => {
      const tasks = `    - name: secret command\n      command: echo plain-secret-{{ pw }}\n      no_log: true\n    - command: echo visible-{{ pw }}\n`;
      writeFileSync(join(t.dir, 'site.yml'), play(tasks, '    pw: hunter2xyz\n'));
      const r = await runCli(['site.yml', '-i', 'inventory.ini'], { cwd: t.dir, env: { SENEX_TRACE: level } });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stderr, /plain-secret/);
      assert.match(r.stderr, /senex trace: request \d+.*no_log/, 'the no_log request is traced as hidden');
      // Only the no_log task is hidden: the trace still shows the others.
      assert.match(r.stderr, /visible-/);
    });
  }
});

// A compromised host answers with template syntax: over real sshd, `web` returns text that
// would reach db1's vaulted token if it were templated again. Ansible 2.14 writes the text.
describe('security: a host cannot template its way to another host\'s secrets (issue 16 item 2)', function () {
  this.timeout(120_000);
  const sshds = withSshds(2);
  let t: ReturnType<typeof testdir>;
  const TOKEN = 'db1-token-Zq8vX3';
  // What web's (compromised) files say; `cat` brings it back as the registered stdout.
  const PAYLOAD = ["{{ hostvars['db1'].vault_db1_token }}", '{{ vault_db1_token }}', "{% include 'x' %}", "hostvars['db1'].vault_db1_token"];

  beforeEach(() => (t = testdir()));
  afterEach(() => t.cleanup());

  it('registered output, loop items, include loops and their vars, set_fact and hostvars stay text; hostvars template in their own host', async () => {
    const { keys, servers } = sshds;
    const known = join(t.dir, 'known_hosts');
    writeFileSync(known, servers.map((s) => s.knownHostsLine()).join('\n') + '\n');
    writeFileSync(join(t.dir, 'pw'), `${PW}\n`);
    writeFileSync(join(t.dir, 'payload-web'), PAYLOAD.join('\n') + '\n');
    writeFileSync(join(t.dir, 'payload-db1'), 'nothing to see\n');
    writeFileSync(
      join(t.dir, 'inventory.yml'),
      `all:\n  vars:\n    ansible_host: 127.0.0.1\n    ansible_user: ${USERS.nopw}\n    ansible_ssh_private_key_file: ${keys.plain}\n    ansible_ssh_common_args: "-o UserKnownHostsFile=${known}"\n  hosts:\n    web: {ansible_port: ${servers[0]!.port}}\n    db1: {ansible_port: ${servers[1]!.port}, db_url: "postgres://{{ inventory_hostname }}/app"}\n`,
    );
    mkdirSync(join(t.dir, 'host_vars'));
    mkdirSync(join(t.dir, 'out'));
    const vaulted = encryptVault(TOKEN, VAULT).trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
    writeFileSync(join(t.dir, 'host_vars/db1.yml'), `vault_db1_token: !vault |\n${vaulted}\n`);
    writeFileSync(join(t.dir, 'write.yml'), `- copy: {dest: "{{ out }}/include-{{ inventory_hostname }}-{{ line | length }}", content: "{{ line }}\\n{{ via_vars }}\\n"}\n`);
    const w = (name: string, content: string) => `    - copy: {dest: "{{ out }}/${name}-{{ inventory_hostname }}", content: "${content}"}\n      when: inventory_hostname == 'web'\n`;
    writeFileSync(
      join(t.dir, 'site.yml'),
      `- hosts: all\n  gather_facts: false\n  become: true\n  vars: {out: ${t.dir}/out}\n  tasks:\n` +
        `    - command: cat ${t.dir}/payload-{{ inventory_hostname }}\n      register: r\n      changed_when: false\n` +
        `    - set_fact: {copied: "{{ r.stdout }}"}\n` +
        `    - copy: {dest: "{{ out }}/loop-{{ inventory_hostname }}-{{ i }}", content: "{{ item }}\\n"}\n      loop: "{{ r.stdout_lines }}"\n      loop_control: {index_var: i}\n      when: inventory_hostname == 'web'\n` +
        `    - include_tasks: write.yml\n      vars: {via_vars: "{{ line }}"}\n      loop: "{{ r.stdout_lines }}"\n      loop_control: {loop_var: line}\n      when: inventory_hostname == 'web'\n` +
        w('hostvars', "{{ hostvars[inventory_hostname].r.stdout }}\\n") +
        w('fact', "{{ hostvars['web'].copied }}\\n") +
        w('url', "{{ hostvars['db1'].db_url }}\\n") +
        `    - debug: {var: "{{ r.stdout_lines[3] }}"}\n      when: inventory_hostname == 'web'\n`,
    );
    const r = await runCli(['site.yml', '-i', 'inventory.yml', '--vault-password-file', 'pw'], { cwd: t.dir, env: { SSH_AUTH_SOCK: '' } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const read = (name: string) => readFileSync(join(t.dir, 'out', name), 'utf8');
    const files = [...PAYLOAD.map((_, i) => `loop-web-${i}`), ...PAYLOAD.map((line) => `include-web-${line.length}`), 'hostvars-web', 'fact-web'];
    for (const f of files) assert.ok(!read(f).includes(TOKEN), `${f} holds db1's secret: ${read(f)}`);
    // Byte for byte what the host said, as ansible-playbook writes it.
    PAYLOAD.forEach((line, i) => {
      assert.equal(read(`loop-web-${i}`), `${line}\n`);
      assert.equal(read(`include-web-${line.length}`), `${line}\n${line}\n`);
    });
    assert.equal(read('hostvars-web'), `${PAYLOAD.join('\n')}\n`);
    assert.equal(read('fact-web'), `${PAYLOAD.join('\n')}\n`);
    // debug's var named by a host is not evaluated: Ansible 2.14 prints it back the same way.
    assert.ok(r.stdout.includes(`"${PAYLOAD[3]}": "{{${PAYLOAD[3]}}}"`), r.stdout);
    // Another host's inventory variable is templated in that host's context, as Ansible does.
    assert.equal(read('url-web'), 'postgres://db1/app\n');
  });
});

describe('security: no template runs without end (issue 16 item 2)', function () {
  this.timeout(120_000);
  let t: ReturnType<typeof testdir>;
  let live: LiveRun | undefined;
  beforeEach(() => (t = testdir({ 'inventory.ini': 'box ansible_connection=local\n' })));
  afterEach(async () => {
    // A run the test gave up on must not outlive it.
    if (live) {
      live.signal('SIGKILL');
      await live.done;
      live = undefined;
    }
    t.cleanup();
  });
  const ENDLESS = '{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}{% endfor %}{% endfor %}{% endfor %}';

  it('a template that never ends fails its task with a clear error naming the task; the other tasks still run', async () => {
    writeFileSync(join(t.dir, 'site.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: endless\n      debug: {msg: "${ENDLESS}"}\n      ignore_errors: true\n    - name: after\n      debug: {msg: still here}\n`);
    live = startCli(['site.yml', '-i', 'inventory.ini'], { cwd: t.dir });
    const r = await live.done;
    live = undefined;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /template stopped after \d+ steps .*\(in task 'endless' at .*site\.yml:\d+:\d+\)/);
    assert.match(r.stdout, /still here/);
  });

  it('SIGTERM stops a run that is busy templating', async () => {
    const items = Array.from({ length: 500 }, (_, i) => i).join(', ');
    writeFileSync(join(t.dir, 'site.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: busy\n      debug: {msg: "${ENDLESS}"}\n      loop: [${items}]\n      ignore_errors: true\n`);
    live = startCli(['site.yml', '-i', 'inventory.ini'], { cwd: t.dir });
    await live.waitFor(/TASK \[busy\]/);
    live.signal('SIGTERM');
    await live.waitFor(/interrupted/);
    // The second signal means now: the loop in flight is not finished.
    live.signal('SIGTERM');
    const r = await live.done;
    live = undefined;
    assert.equal(r.code, 99, r.stdout + r.stderr);
  });
});
