import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decryptVault, encryptVault, parseVault } from '../src/vault/format.js';
import { clearSecrets, redact, registerSecret } from '../src/vault/redact.js';
import { recap, runCli, runProcess } from './helpers/cli.js';
import { testdir } from './helpers/testdir.js';

const PW = 'correct horse battery staple';
const secret = { label: 'default', password: PW, source: 'test' };

/** Debian's ansible-vault, with the password in a file (it never reads one from argv). */
function ansibleVault(dir: string, args: string[], input?: string): string {
  return execFileSync('ansible-vault', args, { cwd: dir, encoding: 'utf8', input, env: { ...process.env, ANSIBLE_NOCOLOR: '1' } });
}

describe('vault: the Ansible Vault format', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = testdir({ 'pw': `${PW}\n`, 'prod-pw': 'another one\n' }).dir;
  });

  it('opens what ansible-vault encrypts (1.1 file, 1.2 with a vault id, encrypt_string)', () => {
    writeFileSync(join(dir, 'a.yml'), 'grafana_admin_password: s3cr3t-a\n');
    ansibleVault(dir, ['encrypt', '--vault-password-file', 'pw', 'a.yml']);
    assert.match(readFileSync(join(dir, 'a.yml'), 'utf8'), /^\$ANSIBLE_VAULT;1\.1;AES256\n/);
    assert.equal(decryptVault(readFileSync(join(dir, 'a.yml'), 'utf8'), [secret]).plaintext.toString(), 'grafana_admin_password: s3cr3t-a\n');

    writeFileSync(join(dir, 'b.yml'), 'x: 1\n');
    ansibleVault(dir, ['encrypt', '--vault-id', 'prod@prod-pw', 'b.yml']);
    const b = readFileSync(join(dir, 'b.yml'), 'utf8');
    assert.equal(parseVault(b).label, 'prod');
    // The matching id is tried first; a wrong default password is no obstacle.
    assert.equal(decryptVault(b, [secret, { label: 'prod', password: 'another one', source: 't' }]).plaintext.toString(), 'x: 1\n');

    const inline = ansibleVault(dir, ['encrypt_string', '--vault-password-file', 'pw', 'hooks.example/ping/abc', '--name', 'ping_url']);
    const text = inline.slice(inline.indexOf('$ANSIBLE_VAULT')).split('\n').map((l) => l.trim()).join('\n');
    assert.equal(decryptVault(text, [secret]).plaintext.toString(), 'hooks.example/ping/abc');
  });

  it('writes what ansible-vault opens (1.1, 1.2, binary content)', () => {
    writeFileSync(join(dir, 'c.yml'), encryptVault('smtp_password: relay-pw\n', secret));
    assert.equal(ansibleVault(dir, ['view', '--vault-password-file', 'pw', 'c.yml']), 'smtp_password: relay-pw\n');
    writeFileSync(join(dir, 'd.yml'), encryptVault('d: 2\n', { label: 'prod', password: 'another one' }));
    assert.match(readFileSync(join(dir, 'd.yml'), 'utf8'), /^\$ANSIBLE_VAULT;1\.2;AES256;prod\n/);
    assert.equal(ansibleVault(dir, ['view', '--vault-id', 'prod@prod-pw', 'd.yml']), 'd: 2\n');
    const binary = Buffer.from([0, 255, 1, 128, 10, 13, 0]);
    writeFileSync(join(dir, 'bin.vault'), encryptVault(binary, secret));
    ansibleVault(dir, ['decrypt', '--vault-password-file', 'pw', 'bin.vault']);
    assert.deepEqual(readFileSync(join(dir, 'bin.vault')), binary);
  });

  it('rejects a wrong password and tampered ciphertext, naming what failed', () => {
    const text = encryptVault('v: 1\n', secret);
    assert.throws(() => decryptVault(text, [{ label: 'default', password: 'nope', source: 'pw-file' }]), /no vault password opens it \(tried default@pw-file\)/);
    const lines = text.split('\n');
    const last = lines[lines.length - 2]!;
    lines[lines.length - 2] = last.slice(0, -2) + (last.endsWith('30') ? '31' : '30');
    assert.throws(() => decryptVault(lines.join('\n'), [secret]), /ciphertext was altered|malformed/);
    assert.throws(() => decryptVault(text.replace('AES256', 'AES128'), [secret]), /unsupported vault cipher AES128/);
    assert.throws(() => decryptVault(text.slice(0, 60), [secret]), /malformed|not hex/);
  });

  it('masks registered secrets wherever they appear, longest first', () => {
    clearSecrets();
    registerSecret('hunter22');
    registerSecret('hunter22-long');
    registerSecret('no'); // too short to be a secret worth masking
    assert.equal(redact('a hunter22-long and hunter22, no'), 'a ******** and ********, no');
    clearSecrets();
  });

  it('masks a secret in its escaped forms: JSON, JSON in JSON, Python repr, YAML and shell quoting (issue 16 item 6)', () => {
    clearSecrets();
    const s = `a"b\\c'd\ne`;
    registerSecret(s);
    const forms = [JSON.stringify(s), JSON.stringify(JSON.stringify(s)), `'a"b\\\\c\\'d\\ne'`, `'a"b\\c''d`, `'a"b\\c'\\''d`];
    for (const form of forms) assert.ok(!redact(`x ${form} y`).includes('b\\'), `${form} -> ${redact(form)}`);
    assert.equal(redact(JSON.stringify({ k: s })), '{"k":"********"}');
    clearSecrets();
  });
});

describe('vault: the CLI', function () {
  this.timeout(120_000);
  const vault = (dir: string, args: string[], env: Record<string, string> = {}, input?: string) => runCli(['vault', ...args], { cwd: dir, env, input });

  it('encrypt, view, decrypt, rekey and encrypt-string interoperate with ansible-vault', async () => {
    const dir = testdir({ pw: `${PW}\n`, new: 'new password\n', 's.yml': 'token: abc-123\n' }).dir;
    assert.equal((await vault(dir, ['encrypt', '--vault-password-file', 'pw', 's.yml'])).code, 0);
    assert.equal(statSync(join(dir, 's.yml')).mode & 0o777, 0o644 & ~process.umask());
    assert.equal(ansibleVault(dir, ['view', '--vault-password-file', 'pw', 's.yml']), 'token: abc-123\n');
    assert.equal((await vault(dir, ['view', '--vault-password-file', 'pw', 's.yml'])).stdout, 'token: abc-123\n');
    assert.equal((await vault(dir, ['rekey', '--vault-password-file', 'pw', '--new-vault-id', 'prod@new', 's.yml'])).code, 0);
    assert.equal(ansibleVault(dir, ['view', '--vault-id', 'prod@new', 's.yml']), 'token: abc-123\n');
    assert.equal((await vault(dir, ['decrypt', '--vault-id', 'prod@new', 's.yml'])).code, 0);
    assert.equal(readFileSync(join(dir, 's.yml'), 'utf8'), 'token: abc-123\n');
    const es = await vault(dir, ['encrypt-string', '--vault-id', 'prod@new', '--name', 'slack_url', 'https://hooks.slack.invalid/T0/B0/x']);
    assert.match(es.stdout, /^slack_url: !vault \|\n  \$ANSIBLE_VAULT;1\.2;AES256;prod\n/);
    writeFileSync(join(dir, 'vars.yml'), es.stdout);
    const shown = execFileSync('ansible', ['localhost', '-m', 'debug', '-a', 'var=slack_url', '-e', '@vars.yml', '--vault-id', 'prod@new'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false' } });
    assert.match(shown, /"slack_url": "https:\/\/hooks\.slack\.invalid\/T0\/B0\/x"/);
  });

  it('a wrong password is one clear error, exit 1', async () => {
    const dir = testdir({ pw: 'wrong\n', 's.yml': encryptVault('a: 1\n', secret) }).dir;
    const r = await vault(dir, ['view', '--vault-password-file', 'pw', 's.yml']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot decrypt .*s\.yml: no vault password opens it \(tried default@pw\)/);
  });

  it('edit re-encrypts what the editor saved and leaves no plaintext behind, even when the editor fails', async () => {
    const shm = () => (existsSync('/dev/shm') ? readdirSync('/dev/shm').filter((f) => f.startsWith('senex-vault-')) : []);
    const before = shm();
    const dir = testdir({ pw: `${PW}\n`, 's.yml': encryptVault('a: 1\n', secret) }).dir;
    writeFileSync(join(dir, 'ed.sh'), '#!/bin/sh\nsed -i s/1/2/ "$1"\n');
    writeFileSync(join(dir, 'crash.sh'), '#!/bin/sh\necho "a: 3" > "$1"; kill -SEGV $$\n');
    chmodSync(join(dir, 'ed.sh'), 0o755);
    chmodSync(join(dir, 'crash.sh'), 0o755);
    assert.equal((await vault(dir, ['edit', '--vault-password-file', 'pw', 's.yml'], { EDITOR: join(dir, 'ed.sh') })).code, 0);
    assert.equal(ansibleVault(dir, ['view', '--vault-password-file', 'pw', 's.yml']), 'a: 2\n');
    const crashed = await vault(dir, ['edit', '--vault-password-file', 'pw', 's.yml'], { EDITOR: join(dir, 'crash.sh') });
    assert.equal(crashed.code, 1);
    assert.match(crashed.stderr, /the editor .* exited with (139|SIGSEGV); the vault file was left as it was/);
    assert.equal(ansibleVault(dir, ['view', '--vault-password-file', 'pw', 's.yml']), 'a: 2\n');
    assert.deepEqual(shm(), before);
    assert.deepEqual(readdirSync(dir).sort(), ['crash.sh', 'ed.sh', 'pw', 's.yml']);
  });
});

describe('vault: secrets in a run cannot leak', function () {
  this.timeout(120_000);
  const SECRET = 'Pl41n-t3xt-S3cret';
  const PLAY = `
- hosts: all
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    out: "{{ playbook_dir }}/out"
  tasks:
    - file: {path: "{{ out }}", state: directory}
    - template: {src: app.ini.j2, dest: "{{ out }}/app.ini"}
    - copy: {dest: "{{ out }}/token", content: "{{ api_token }}\\n"}
    - copy: {dest: "{{ out }}/inline", content: "{{ smtp_password }}\\n", mode: "0640"}
    - command: printf '%s' {{ api_token | quote }}
      register: printed
    - debug: {msg: "the token is {{ api_token }}"}
    - debug: {var: printed}
    - name: a failing task that names the secret
      fail: {msg: "refusing {{ api_token }}"}
      ignore_errors: true
`;
  function setup(token: string) {
    return testdir({
      pw: `${PW}\n`,
      'playbooks/site.yml': PLAY,
      'playbooks/templates/app.ini.j2': 'token = {{ api_token }}\n',
      'playbooks/secrets.yml': encryptVault(`api_token: ${token}\n`, secret),
      'playbooks/group_vars/all.yml': `smtp_password: !vault |\n${encryptVault(`${token}-smtp`, secret).trimEnd().split('\n').map((l) => `  ${l}`).join('\n')}\n`,
      'inventory/local.ini': 'box ansible_connection=local\n',
    }).dir;
  }

  it('the plaintext appears nowhere in stdout, stderr or --json; the files on the host hold it', async () => {
    const dir = setup(SECRET);
    const first = await runCli(['site.yml', '-i', 'local', '--vault-password-file', 'pw'], { cwd: dir });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    // Change the secret: --diff must show the checksum change, never the content.
    writeFileSync(join(dir, 'playbooks/secrets.yml'), encryptVault(`api_token: ${SECRET}-v2\n`, secret));
    const r = await runCli(['site.yml', '-i', 'local', '--vault-password-file', 'pw', '-vvv', '--diff', '--json', 'out.json'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const [where, text] of [['stdout', r.stdout], ['stderr', r.stderr], ['out.json', readFileSync(join(dir, 'out.json'), 'utf8')]] as const) {
      assert.ok(!text.includes(SECRET), `${where} leaks the secret:\n${text}`);
    }
    assert.match(r.stdout, /content hidden: sha256 [0-9a-f]{16}… -> sha256 [0-9a-f]{16}…/);
    assert.match(r.stdout, /the token is \*\*\*\*\*\*\*\*/);
    assert.match(r.stdout, /refusing \*\*\*\*\*\*\*\*/);
    assert.equal(readFileSync(join(dir, 'playbooks/out/token'), 'utf8'), `${SECRET}-v2\n`);
    assert.equal(readFileSync(join(dir, 'playbooks/out/app.ini'), 'utf8'), `token = ${SECRET}-v2\n`);
    assert.equal(readFileSync(join(dir, 'playbooks/out/inline'), 'utf8'), `${SECRET}-smtp\n`);
    // New files holding a secret are 0600 unless the task says otherwise.
    assert.equal(statSync(join(dir, 'playbooks/out/token')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'playbooks/out/inline')).mode & 0o777, 0o640);
    assert.equal(recap(r.stdout, 'box').changed, 3);
  });

  it('a wrong vault password stops the run before any host is touched, naming the file', async () => {
    const dir = setup(SECRET);
    writeFileSync(join(dir, 'pw'), 'wrong\n');
    const r = await runCli(['site.yml', '-i', 'local', '--vault-password-file', 'pw'], { cwd: dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /group_vars\/all\.yml:1:\d+|secrets\.yml:1:1/);
    assert.match(r.stderr, /no vault password opens it/);
    assert.equal(existsSync(join(dir, 'playbooks/out')), false);
    const none = await runCli(['site.yml', '-i', 'local'], { cwd: dir, env: { SENEX_VAULT_PASSWORD: '' } });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no vault password was given[\s\S]*--ask-vault-pass/);
  });

  it('SENEX_VAULT_PASSWORD works for CI', async () => {
    const dir = setup(SECRET);
    const r = await runCli(['site.yml', '-i', 'local'], { cwd: dir, env: { SENEX_VAULT_PASSWORD: PW } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(!r.stdout.includes(SECRET));
  });

  it('ansible-playbook runs the same playbook with the same vault', async () => {
    const dir = setup(SECRET);
    const r = await runProcess('ansible-playbook', ['-i', 'inventory/local.ini', 'playbooks/site.yml', '--vault-password-file', 'pw'], { cwd: dir, env: { ANSIBLE_NOCOLOR: '1' } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(join(dir, 'playbooks/out/token'), 'utf8'), `${SECRET}\n`);
  });
});
