import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateCommand } from '../src/engine/apply.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';
import { testdir } from './helpers/testdir.js';
import { ensureTestUsers, makeClientKeys, TestSshd, USERS, type ClientKeys } from './helpers/sshd.js';

/** The attacker: a user who owns the directory root writes into (as ~senex in the roles). */
const RACER = USERS.pw;
const RUNS = 50;

/** The racer (test/fixtures/racer/racer.c), run as RACER; it reports each name it replaced. */
class Racer {
  private readonly child: ChildProcess;
  private out = '';
  readonly ready: Promise<void>;

  constructor(bin: string, dir: string, bait: string, mode: 'link' | 'dir') {
    this.child = spawn('setpriv', [`--reuid=${RACER}`, `--regid=${RACER}`, '--clear-groups', bin, dir, bait, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.ready = new Promise((resolve, reject) => {
      this.child.stdout!.on('data', (d: Buffer) => {
        this.out += d.toString();
        if (this.out.startsWith('ready\n')) resolve();
      });
      this.child.once('exit', (code) => reject(new Error(`the racer exited (${code}) before it was ready`)));
    });
  }

  /** How many of root's entries it replaced. */
  get replaced(): number {
    return this.out.split('\n').filter((l) => l.startsWith('replaced ')).length;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

interface Canary {
  content: string;
  mode: number;
  uid: number;
}

// Root (become, over a real sshd on loopback) writes into a directory the racer owns, while
// the racer swaps each entry root creates there for a symlink or a directory of its own. Root
// must never touch anything outside the directory: the canary next to it stays as it was.
describe('writes as root into a directory another user owns (issue 16)', function () {
  this.timeout(600_000);
  let keys: ClientKeys;
  let server: TestSshd;
  let base: string;
  let dir: string;
  let canary: string;
  let racerBin: string;
  let racerUid: number;

  before(async () => {
    ensureTestUsers();
    keys = makeClientKeys();
    server = await new TestSshd(keys).start();
    base = mkdtempSync(join(tmpdir(), 'senex-race-'));
    chmodSync(base, 0o755);
    racerBin = join(base, 'racer');
    execFileSync('cc', ['-O2', '-o', racerBin, join(FIXTURES, 'racer', 'racer.c')]);
    racerUid = Number(execFileSync('id', ['-u', RACER], { encoding: 'utf8' }).trim());
  });
  after(() => {
    server?.stop();
    rmSync(base, { recursive: true, force: true });
    rmSync(keys.dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    dir = join(base, 'home');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, racerUid, racerUid);
    canary = join(base, 'canary');
    writeFileSync(canary, 'canary\n', { mode: 0o600 });
    chmodSync(canary, 0o600);
  });

  const canaryNow = (): Canary => {
    const st = statSync(canary);
    return { content: readFileSync(canary, 'utf8'), mode: st.mode & 0o7777, uid: st.uid };
  };
  const untouched: Canary = { content: 'canary\n', mode: 0o600, uid: 0 };

  async function play(tasks: string): Promise<CliResult> {
    const known = join(base, 'known_hosts');
    writeFileSync(known, server.knownHostsLine() + '\n');
    const inv = join(base, 'inventory.yml');
    writeFileSync(
      inv,
      `all:\n  hosts:\n    h1:\n      ansible_host: 127.0.0.1\n      ansible_port: ${server.port}\n      ansible_user: ${USERS.nopw}\n      ansible_ssh_private_key_file: ${keys.plain}\n      ansible_ssh_common_args: "-o UserKnownHostsFile=${known}"\n`,
    );
    writeFileSync(join(base, 'site.yml'), `- hosts: all\n  gather_facts: false\n  become: true\n  tasks:\n${tasks}`);
    return runCli(['site.yml', '-i', inv], { cwd: base, env: { SSH_AUTH_SOCK: '' } });
  }

  /** RUNS tasks made by `task(i)`, each ignoring its errors (the racer makes some fail), under the racer. */
  async function race(mode: 'link' | 'dir', task: (i: number) => string): Promise<{ run: CliResult; replaced: number }> {
    const racer = new Racer(racerBin, dir, canary, mode);
    try {
      await racer.ready;
      const tasks = Array.from({ length: RUNS }, (_, i) => `${task(i)}\n      ignore_errors: true\n`).join('');
      const run = await play(tasks);
      return { run, replaced: racer.replaced };
    } finally {
      await racer.stop();
    }
  }

  it(`item 1: ${RUNS} copies (owner: the racer) never write, chmod or chown the racer's symlink target`, async () => {
    const { run, replaced } = await race('link', (i) => `    - copy: {dest: "${dir}/f${i}", content: "new content ${i}\\n", owner: ${RACER}}`);
    assert.doesNotMatch(run.stdout + run.stderr, /internal error/);
    assert.ok(replaced > 0, `the racer never got into the race:\n${run.stdout}`);
    assert.deepEqual(canaryNow(), untouched, `root touched the canary (the racer replaced ${replaced} entries)`);
  });

  it(`item 1: ${RUNS} directories created (owner: the racer) never chown or chmod the racer's symlink target`, async () => {
    const { run, replaced } = await race('link', (i) => `    - file: {path: "${dir}/d${i}/sub", state: directory, owner: ${RACER}, mode: "0777"}`);
    assert.doesNotMatch(run.stdout + run.stderr, /internal error/);
    assert.ok(replaced > 0, `the racer never got into the race:\n${run.stdout}`);
    assert.deepEqual(canaryNow(), untouched);
  });

  it(`item 1: ${RUNS} files touched into being (owner: the racer) never chown or chmod the racer's symlink target`, async () => {
    const { run, replaced } = await race('link', (i) => `    - file: {path: "${dir}/t${i}", state: touch, owner: ${RACER}, mode: "0666"}`);
    assert.doesNotMatch(run.stdout + run.stderr, /internal error/);
    assert.ok(replaced > 0, `the racer never got into the race:\n${run.stdout}`);
    assert.deepEqual(canaryNow(), untouched);
  });

  it(`item 9: ${RUNS} symlinks made in the racer's directory never become a directory the racer owns`, async () => {
    const { run, replaced } = await race('dir', (i) => `    - file: {path: "${dir}/l${i}", src: /etc/hostname, state: link}`);
    assert.doesNotMatch(run.stdout + run.stderr, /internal error/);
    assert.ok(replaced > 0, `the racer never got into the race:\n${run.stdout}`);
    const theirs = readdirSync(dir).filter((n) => /^l\d+$/.test(n) && lstatSync(join(dir, n)).isDirectory());
    assert.deepEqual(theirs, [], 'links that are the racer\'s directories');
  });

  it('item 1: a directory symlink the owner planted does not take a copy or a new directory outside', async () => {
    const outside = join(base, 'outside');
    rmSync(outside, { recursive: true, force: true });
    mkdirSync(outside);
    symlinkSync(outside, join(dir, 'sub'));
    const run = await play(`    - copy: {dest: "${dir}/sub/f", content: "x\\n"}\n      ignore_errors: true\n    - file: {path: "${dir}/sub/d", state: directory}\n      ignore_errors: true\n`);
    assert.deepEqual(readdirSync(outside), [], run.stdout);
    assert.match(run.stdout, /sub in \S*home is a symlink, and a user other than root can write \S*home: not following it as root/);
  });

  it('item 1: lineinfile does not edit the target of a symlink the directory owner planted', async () => {
    symlinkSync(canary, join(dir, 'profile'));
    const run = await play(`    - lineinfile: {path: "${dir}/profile", line: "export EDITED=1"}\n`);
    assert.deepEqual(canaryNow(), untouched);
    assert.equal(run.code, 2, run.stdout);
    assert.match(run.stdout, /reached through the symlink .*profile, and a user other than root can write its directory/);
  });

  it('item 1: attributes of a symlink the directory owner planted are not applied to its target', async () => {
    symlinkSync(canary, join(dir, 'planted'));
    const run = await play(`    - file: {path: "${dir}/planted", mode: "0644", owner: ${RACER}}\n`);
    assert.deepEqual(canaryNow(), untouched);
    assert.equal(run.code, 2, run.stdout);
    assert.match(run.stdout, /planted is a symlink \(or was replaced by one\) in .*home, which another user can write: not following it as root/);
  });
});

// Values that reach a shell or an option position, on the local connection (root).
describe('task values never reach the shell or an option position (issue 16)', function () {
  this.timeout(180_000);
  let t: ReturnType<typeof testdir>;
  beforeEach(() => (t = testdir({ 'inv.yml': 'all:\n  vars: {ansible_connection: local}\n  hosts:\n    h1:\n' })));
  afterEach(() => t.cleanup());

  const run = (tasks: string, args: string[] = []) => {
    writeFileSync(join(t.dir, 'site.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n${tasks}`);
    return runCli(['site.yml', '-i', 'inv.yml', ...args], { cwd: t.dir });
  };
  const exists = (name: string) => {
    try {
      lstatSync(join(t.dir, name));
      return true;
    } catch {
      return false;
    }
  };

  it('item 3: $(...) inside a [...] of creates: is a literal, also under --check; [0-9] still matches', async () => {
    writeFileSync(join(t.dir, 'data7'), '');
    const r = await run(
      `    - command: {cmd: "true", creates: "{{ playbook_dir }}/x[$(touch canary3)]"}\n` +
        `    - command: {cmd: "touch ran", removes: "{{ playbook_dir }}/y[\`touch canary3b\`]"}\n` +
        `    - command: {cmd: "touch ran2", creates: "{{ playbook_dir }}/data[0-9]"}\n`,
      ['--check'],
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(exists('canary3'), false, 'the command substitution in creates: ran');
    assert.equal(exists('canary3b'), false, 'the backquotes in removes: ran');
    // Under --check a command that would run is skipped; one whose creates: matches is ok.
    const statuses = [...r.stdout.matchAll(/^(ok|skipping|changed): \[h1\]/gm)].map((m) => m[1]);
    assert.deepEqual(statuses, ['skipping', 'ok', 'ok'], r.stdout);
  });

  it('item 4: an apt name that is an option is refused before apt-get sees it', async () => {
    const cache = join(t.dir, 'canary4');
    const r = await run(`    - name: hostile package\n      apt: {name: ["-oDir::Cache::pkgcache=${cache}"]}\n`);
    assert.equal(exists('canary4'), false, 'apt-get took the name as an option and wrote its cache there');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /TASK \[hostile package\][\s\S]*fatal: \[h1\]: FAILED! => "-oDir::Cache::pkgcache=[^"]*" is not a package name/);
  });

  it('item 5: validate with %s inside sh -c \'...\' gets the path; PermitRootLogin yes is refused, no is installed', async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(t.dir, 'hostkey')]);
    // As ansible-playbook 2.14 runs it: yes is refused, no is installed (Ansible takes one %s; %% is a %).
    const validate = `sh -c 'test 100%% = 100%% && f=%s && /usr/sbin/sshd -t -f "$f" && ! grep -qi "^PermitRootLogin yes" "$f"'`;
    const task = (name: string, permit: string) =>
      `    - copy:\n        dest: "{{ playbook_dir }}/${name}"\n        content: "HostKey {{ playbook_dir }}/hostkey\\nPermitRootLogin ${permit}\\n"\n        validate: ${JSON.stringify(validate)}\n      ignore_errors: true\n`;
    const r = await run(task('sshd_yes', 'yes') + task('sshd_no', 'no'));
    assert.equal(exists('sshd_yes'), false, `an sshd_config with PermitRootLogin yes was installed:\n${r.stdout}`);
    assert.match(r.stdout, /failed to validate/);
    assert.equal(readFileSync(join(t.dir, 'sshd_no'), 'utf8').includes('PermitRootLogin no'), true, r.stdout);
  });

  it('item 5: a validator that drops to the file\'s owner can read the staged file (as senex-validate does)', async () => {
    ensureTestUsers();
    chmodSync(t.dir, 0o755);
    const r = await run(`    - copy: {dest: "{{ playbook_dir }}/cfg", content: "x\\n", owner: ${RACER}, mode: "0600", validate: "runuser -u ${RACER} -- test -r %s"}\n`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(join(t.dir, 'cfg'), 'utf8'), 'x\n');
  });

  it('item 10: owner: --reference=/etc/shadow is refused; the file keeps its group', async () => {
    writeFileSync(join(t.dir, 'f'), 'x\n');
    const gid = statSync(join(t.dir, 'f')).gid;
    const r = await run(`    - file: {path: "{{ playbook_dir }}/f", owner: "--reference=/etc/shadow"}\n`);
    assert.equal(statSync(join(t.dir, 'f')).gid, gid, 'chown took the owner as an option');
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /owner/);
  });

  it('item 10: path: -delete with recurse deletes nothing under --check', async () => {
    writeFileSync(join(t.dir, 'victim'), 'keep me\n');
    writeFileSync(join(t.dir, 'site.yml'), '');
    const before = readdirSync(t.dir).sort();
    const r = await run(`    - file: {path: "-delete", state: directory, recurse: true, mode: "0700"}\n`, ['--check']);
    // The run's working directory is the test's: find's -delete would take the first file it visits.
    assert.deepEqual(readdirSync(t.dir).sort(), before, `the probe's find deleted a file:\n${r.stdout}`);
  });
});

describe('validate: the path reaches the validator as Ansible puts it there (issue 16, item 5)', () => {
  it('puts the path into each word after splitting, also inside a quoted sh -c', () => {
    assert.equal(validateCommand('visudo -cf %s', '$v'), 'visudo -cf "$v"');
    assert.equal(validateCommand("sh -c 'sshd -t -f %s'", '$v'), `sh -c 'sshd -t -f '"$v"`);
    assert.equal(validateCommand('grep -q 100%% %s', '$v'), `grep -q 100% "$v"`);
  });
  it('fails closed when the path would reach no word, or twice (Ansible takes one %s)', () => {
    assert.throws(() => validateCommand('grep -q x %%s', '$v'), /validate must contain %s/);
    assert.throws(() => validateCommand("sh -c 'a %s; b %s'", '$v'), /only once/);
  });
});
