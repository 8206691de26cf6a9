import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { up } from '../lab/lab.js';
import { recap, runCli } from './helpers/cli.js';
import { fingerprintGuest, inGuest, LAB_ENV, LAB_INVENTORY, requireLab, type LabHostState } from './helpers/lab.js';
import { FIXTURES } from './helpers/paths.js';

const DIR = join(FIXTURES, 'e2e');
const play = (...args: string[]) => runCli(['site.yml', '-i', LAB_INVENTORY, ...args], { cwd: DIR, env: LAB_ENV });
const tasksRun = (stdout: string) => [...stdout.matchAll(/^TASK \[(.*)\]/gm)].map((m) => m[1]);

// On three real Debian 13 hosts (the lab), over SSH as deploy with become.
describe('end to end on the lab', function () {
  this.timeout(300_000);
  let hosts: LabHostState[];
  const host = (name: string) => hosts.find((h) => h.name === name)!;

  before(async function () {
    requireLab(this);
    await up(3, { fresh: true });
    hosts = requireLab(this);
  });

  it("the lab records each guest's init (PID 1 of its namespace), so tests can enter it", () => {
    // nspawn's short-lived helper process was once recorded instead, and every later
    // nsenter into that host failed once it exited.
    for (const h of hosts) assert.equal(inGuest(h, 'readlink /proc/1/exe').trim(), '/usr/lib/systemd/systemd', h.name);
    for (const h of hosts) assert.match(readFileSync(`/proc/${h.initPid}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m, h.name);
  });

  it('converges every host, then a second run changes nothing', async () => {
    const first = await play();
    assert.equal(first.code, 0, first.stdout + first.stderr);
    for (const h of ['lab1', 'lab2', 'lab3']) assert.deepEqual(recap(first.stdout, h), { ok: 22, changed: 12, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 }, h);
    assert.equal(inGuest(host('lab2'), 'stat -c "%a %U %G" /etc/e2e/base.conf').trim(), '640 root senex');
    assert.equal(inGuest(host('lab3'), 'stat -c %U /home/senex/note.txt').trim(), 'senex');
    const second = await play('--detailed-exitcode');
    assert.equal(second.code, 0, second.stdout);
    for (const h of ['lab1', 'lab2', 'lab3']) assert.equal(recap(second.stdout, h).changed, 0, h);
  });

  it('drift: --check --diff reports exactly the drifted file, exits 8, and leaves every host byte-identical', async () => {
    inGuest(host('lab2'), 'echo "max_use = 99G" >> /etc/e2e/base.conf');
    const before = hosts.map(fingerprintGuest);
    const r = await play('--check', '--diff', '--detailed-exitcode');
    assert.equal(r.code, 8, r.stdout + r.stderr);
    assert.deepEqual(hosts.map(fingerprintGuest), before, '--check changed something on a host');
    assert.deepEqual([...r.stdout.matchAll(/^changed: \[(\w+)\]/gm)].map((m) => m[1]), ['lab2']);
    assert.match(r.stdout, /--- before: \/etc\/e2e\/base\.conf\n\+\+\+ after: \/etc\/e2e\/base\.conf\n@@ -1,4 \+1,3 @@\n # managed by senex-play on lab2 \(Debian 13[.\d]*\)\n max_use = 1G\n retention = 7day\n-max_use = 99G/);
    const fix = await play();
    assert.equal(recap(fix.stdout, 'lab2').changed, 1);
    assert.equal(recap(fix.stdout, 'lab1').changed, 0);
  });

  it('--limit runs on exactly the matching hosts', async () => {
    for (const h of ['lab1', 'lab3']) inGuest(host(h), 'rm /etc/e2e-current.conf');
    const r = await play('--limit', 'lab1');
    assert.equal(r.code, 0);
    assert.equal(recap(r.stdout, 'lab1').changed, 1);
    assert.throws(() => recap(r.stdout, 'lab3'));
    assert.equal(inGuest(host('lab3'), 'test -L /etc/e2e-current.conf && echo yes || echo no').trim(), 'no');
    const rest = await play('--limit', 'all:!lab1');
    assert.equal(recap(rest.stdout, 'lab3').changed, 1);
  });

  it('--tags runs exactly the tagged tasks', async () => {
    inGuest(host('lab3'), "sed -i '/E2E_MANAGED/d' /etc/environment");
    const r = await play('--tags', 'env');
    assert.deepEqual(tasksRun(r.stdout), ['Gathering Facts', 'e2e-base : a line in a system file']);
    assert.equal(recap(r.stdout, 'lab3').changed, 1);
    assert.equal(recap(r.stdout, 'lab1').changed, 0);
  });

  it('--phase selects the roles of that phase only', async () => {
    inGuest(host('lab1'), 'echo tampered > /srv/e2e/one.txt');
    const listed = await play('--phase', '2', '--list-tasks');
    assert.doesNotMatch(listed.stdout, /e2e-base|facts are gathered/);
    assert.match(listed.stdout, /e2e-app : app files/);
    const r = await play('--phase', '2');
    assert.deepEqual(tasksRun(r.stdout), ['Gathering Facts', 'e2e-app : app directory owned by the app user', 'e2e-app : app files', 'e2e-app : a file written as the app user', 'e2e-app : check who wrote it']);
    assert.equal(recap(r.stdout, 'lab1').changed, 1);
  });

  it('a host whose sshd is stopped is UNREACHABLE (exit 3); the others converge', async () => {
    inGuest(host('lab3'), 'systemctl stop ssh.service');
    try {
      inGuest(host('lab1'), 'rm /etc/motd');
      const r = await play();
      assert.equal(r.code, 3, r.stdout);
      assert.match(r.stdout, /fatal: \[lab3\]: UNREACHABLE! => connection refused by 198\.18\.3\.2:22/);
      assert.deepEqual(recap(r.stdout, 'lab3'), { ok: 0, changed: 0, unreachable: 1, failed: 0, skipped: 0, rescued: 0, ignored: 0 });
      assert.equal(recap(r.stdout, 'lab1').changed, 1);
      assert.equal(recap(r.stdout, 'lab2').failed, 0);
    } finally {
      inGuest(host('lab3'), 'systemctl start ssh.service');
    }
  });
});
