import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recap, runCli, startCli } from './helpers/cli.js';
import { BIN, FIXTURES } from './helpers/paths.js';
import { snapshot } from './helpers/snapshot.js';
import { ensureTestUsers, makeClientKeys, TestSshd, USERS, type ClientKeys } from './helpers/sshd.js';
import { testdir } from './helpers/testdir.js';

// Whole runs over SSH: the CLI against real sshd processes, connecting as an unprivileged
// user with become, strict host-key checking against a test known_hosts file.
describe('runs over SSH', function () {
  this.timeout(120_000);
  let keys: ClientKeys;
  const servers: TestSshd[] = [];
  let t: ReturnType<typeof testdir>;

  before(async () => {
    ensureTestUsers();
    keys = makeClientKeys();
    for (let i = 0; i < 2; i++) servers.push(await new TestSshd(keys).start());
  });
  after(() => servers.forEach((s) => s.stop()));
  beforeEach(() => (t = testdir()));
  afterEach(() => t.cleanup());

  function inventory(hosts: Array<{ name: string; server: TestSshd }>): string {
    const known = join(t.dir, 'known_hosts');
    writeFileSync(known, servers.map((s) => s.knownHostsLine()).join('\n') + '\n');
    const lines = hosts.map(({ name, server }) => `    ${name}: {ansible_port: ${server.port}}`).join('\n');
    const file = join(t.dir, 'inventory.yml');
    writeFileSync(
      file,
      `all:\n  vars:\n    ansible_host: 127.0.0.1\n    ansible_user: ${USERS.nopw}\n    ansible_ssh_private_key_file: ${keys.plain}\n    ansible_ssh_common_args: "-o UserKnownHostsFile=${known}"\n  hosts:\n${lines}\n`,
    );
    return file;
  }

  const env = { SSH_AUTH_SOCK: '' };

  it('runs 50 tasks on one host over one connection, then changes nothing', async () => {
    const tasks = Array.from({ length: 50 }, (_, i) => `    - copy: {dest: "{{ out }}/f${i}", content: "${i}\\n", mode: "0600"}`).join('\n');
    writeFileSync(join(t.dir, 'site.yml'), `- hosts: all\n  become: true\n  vars: {out: ${t.dir}/out}\n  tasks:\n    - file: {path: "{{ out }}", state: directory}\n${tasks}\n`);
    const inv = inventory([{ name: 'h1', server: servers[0]! }]);
    const first = await runCli(['site.yml', '-i', inv, '--json', 'run.json'], { cwd: t.dir, env });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal(recap(first.stdout, 'h1').changed, 51);
    const snap = snapshot(join(t.dir, 'out'));
    assert.equal(Object.keys(snap).length, 51);
    assert.deepEqual([snap.f7!.mode, snap.f7!.uid], ['0600', 0]);
    const second = await runCli(['site.yml', '-i', inv, '--json', 'run.json'], { cwd: t.dir, env });
    assert.equal(recap(second.stdout, 'h1').changed, 0);
    const stats = JSON.parse((await import('node:fs')).readFileSync(join(t.dir, 'run.json'), 'utf8')).transport.h1;
    // One connection; a shell as the login user (facts) and one as root: two channels.
    assert.equal(stats.channelsOpened, 2, JSON.stringify(stats));
  });

  it('a host whose sshd is down is UNREACHABLE (exit 3); the other converges', async () => {
    const down = new TestSshd(keys);
    await down.start();
    servers.push(down);
    const inv = inventory([{ name: 'up', server: servers[0]! }, { name: 'down', server: down }]);
    down.kill();
    writeFileSync(join(t.dir, 'site.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: first\n      command: "true"\n`);
    const r = await runCli(['site.yml', '-i', inv], { cwd: t.dir, env });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /fatal: \[down\]: UNREACHABLE! => connection refused by 127\.0\.0\.1:\d+ \(during task 'first'\)/);
    assert.deepEqual(recap(r.stdout, 'up'), { ok: 1, changed: 1, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 });
    assert.equal(recap(r.stdout, 'down').unreachable, 1);
  });

  it('sshd killed mid-run: that host is UNREACHABLE naming the task, the other finishes', async () => {
    const victim = new TestSshd(keys);
    await victim.start();
    servers.push(victim);
    const inv = inventory([{ name: 'steady', server: servers[0]! }, { name: 'victim', server: victim }]);
    const steps = Array.from({ length: 20 }, (_, i) => `    - name: step ${i}\n      command: sleep 0.15`).join('\n');
    writeFileSync(join(t.dir, 'site.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n${steps}\n`);
    const child = spawn(process.execPath, [BIN, 'site.yml', '-i', inv], { cwd: t.dir, env: { ...process.env, ...env, NO_COLOR: '1', CI: '1' } });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (/TASK \[step 5\]/.test(stdout) && !victim.killed) victim.kill();
    });
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    assert.equal(code, 3, stdout);
    assert.match(stdout, /fatal: \[victim\]: UNREACHABLE! => connection lost: .* \(during task 'step [5-7]'\)/);
    assert.equal(recap(stdout, 'steady').ok, 20);
    assert.equal(recap(stdout, 'victim').unreachable, 1);
  });

  // The lab's faults test (SIGINT during a large upload) over loopback: the interrupt lands
  // while the streamed stdin (`__sx_stream`) is being sent, seen by its staging file on disk.
  it('SIGINT during a large streamed upload: the upload finishes whole, notified handlers run, nothing more, exit 99', async () => {
    const big = randomBytes(96 * 1024 * 1024);
    writeFileSync(join(t.dir, 'big.bin'), big);
    const dest = join(t.dir, 'dest');
    mkdirSync(dest);
    writeFileSync(
      join(t.dir, 'site.yml'),
      [
        '- hosts: all',
        '  become: true',
        '  gather_facts: false',
        '  tasks:',
        `    - name: a large upload`,
        `      copy: {src: big.bin, dest: ${dest}/big.bin}`,
        '      notify: [the handler]',
        '    - name: the task after the upload',
        `      copy: {dest: ${dest}/after, content: "x"}`,
        '  handlers:',
        '    - name: the handler',
        `      copy: {dest: ${dest}/handled, content: "x"}`,
        '',
      ].join('\n'),
    );
    const inv = inventory([{ name: 'h1', server: servers[0]! }]);
    const run = startCli(['site.yml', '-i', inv], { cwd: t.dir, env });
    await run.waitFor(/TASK \[a large upload\]/);
    // The bytes are arriving: a staging directory holds part of the new file.
    const staged = () => readdirSync(dest).filter((n) => n.startsWith('.senex-tmp.'));
    const partial = () => staged().some((d) => (statSync(join(dest, d, 'new'), { throwIfNoEntry: false })?.size ?? 0) > 0);
    for (let i = 0; i < 600 && !partial(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(partial(), 'the upload was never seen in flight');
    run.signal('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 99, r.stdout + r.stderr);
    assert.match(r.stderr, /interrupted: finishing the tasks in flight/);
    assert.ok(readFileSync(join(dest, 'big.bin')).equals(big), 'the upload in flight was not completed');
    assert.doesNotMatch(r.stdout, /TASK \[the task after the upload\]/);
    assert.equal(existsSync(join(dest, 'after')), false);
    assert.match(r.stdout, /RUNNING HANDLER \[the handler\]/);
    assert.equal(existsSync(join(dest, 'handled')), true);
    assert.deepEqual(staged(), []);
  });

  it('the differential playbook over SSH (become root) leaves what ansible-playbook -c local leaves', async () => {
    const inv = inventory([{ name: 'localhost', server: servers[0]! }]);
    const dir = join(FIXTURES, 'differential');
    const viaSsh = await runCli(['site.yml', '-i', inv, '-b', '-e', `root=${t.dir}/ssh`], { cwd: dir, env });
    assert.equal(viaSsh.code, 0, viaSsh.stdout + viaSsh.stderr);
    const local = await runCli(['site.yml', '-i', 'localhost,', '-c', 'local', '-e', `root=${t.dir}/local`], { cwd: dir });
    assert.equal(local.code, 0);
    assert.deepEqual(recap(viaSsh.stdout, 'localhost'), recap(local.stdout, 'localhost'));
    assert.deepEqual(snapshot(join(t.dir, 'ssh')), snapshot(join(t.dir, 'local')));
  });
});
