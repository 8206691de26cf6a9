import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recap, runCli } from './helpers/cli.js';
import { USERS, withSshds } from './helpers/sshd.js';
import { testdir } from './helpers/testdir.js';

// k=v module arguments as Ansible's parse_kv reads them and its modules convert them, over a
// real loopback sshd.
describe('compatibility: k=v arguments (loopback sshd)', function () {
  this.timeout(120_000);
  const sshds = withSshds(1);
  let t: ReturnType<typeof testdir>;
  beforeEach(() => {
    t = testdir();
    const [server] = sshds.servers;
    const known = join(t.dir, 'known_hosts');
    writeFileSync(known, `${server!.knownHostsLine()}\n`);
    writeFileSync(
      join(t.dir, 'inventory.yml'),
      `all:\n  hosts:\n    web: {ansible_host: 127.0.0.1, ansible_port: ${server!.port}, ansible_user: ${USERS.nopw}, ansible_ssh_private_key_file: ${sshds.keys.plain}, ansible_ssh_common_args: "-o UserKnownHostsFile=${known}"}\n`,
    );
  });
  afterEach(() => t.cleanup());

  it("converts 'yes'/'no' and numbers to the module's types, keeps mode=0644 octal, reads {{ }} with spaces and escapes as one word", async () => {
    const out = `/tmp/senex-kv-${process.pid}-${Date.now()}`;
    writeFileSync(
      join(t.dir, 'site.yml'),
      `- hosts: web
  gather_facts: false
  vars: {out: "${out}", who: world}
  tasks:
    - apt: name=foo update_cache=yes cache_valid_time=86400
      when: false
    - file: path={{ out }} state=directory mode=0755
    - copy: dest={{ out }}/a content="hello {{ who | upper }}\\n" mode=0640
    - copy: dest={{ out }}/a content="replaced" force=no
    - stat: path={{ out }}/a get_checksum=no
      register: st
    - local_action: copy dest=${t.dir}/st content="{{ st.stat.mode }} {{ st.stat.checksum is defined }} {{ st.stat.pw_name }}"
`,
    );
    try {
      const r = await runCli(['site.yml', '-i', 'inventory.yml'], { cwd: t.dir });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(readFileSync(`${out}/a`, 'utf8'), 'hello WORLD\n');
      assert.equal(statSync(`${out}/a`).mode & 0o777, 0o640);
      assert.equal(readFileSync(join(t.dir, 'st'), 'utf8'), `0640 False ${USERS.nopw}`);
      assert.deepEqual(recap(r.stdout, 'web'), { ok: 5, changed: 3, unreachable: 0, failed: 0, skipped: 1, rescued: 0, ignored: 0 });
    } finally {
      (await import('node:fs')).rmSync(out, { recursive: true, force: true });
    }
  });

  it('a value of the wrong type is an error at the line:col of that k=v word, before any host is touched', async () => {
    writeFileSync(join(t.dir, 'site.yml'), `- hosts: web\n  gather_facts: false\n  tasks:\n    - copy: dest=/tmp/x content=y force=maybe\n`);
    const r = await runCli(['site.yml', '-i', 'inventory.yml'], { cwd: t.dir });
    assert.equal(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /site\.yml:4:41: error: 'force' in module 'copy' must be a boolean, not the string "maybe"/);
    assert.doesNotMatch(r.stdout, /TASK \[/);
  });

  it('a templated argument name is refused with the reason (Ansible never templates it)', async () => {
    writeFileSync(join(t.dir, 'site.yml'), `- hosts: web\n  gather_facts: false\n  vars: {k: dest}\n  tasks:\n    - copy:\n        "{{ k }}": /tmp/x\n        content: y\n`);
    const r = await runCli(['site.yml', '-i', 'inventory.yml', '--syntax-check'], { cwd: t.dir });
    assert.equal(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /site\.yml:6:9: error: argument name '\{\{ k \}\}' of 'copy' is a template/);
  });
});
