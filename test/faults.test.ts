import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reboot, up } from '../lab/lab.js';
import { recap, runCli, startCli, type LiveRun } from './helpers/cli.js';
import { inGuest, labHosts, LAB_ENV, LAB_INVENTORY, requireLab, type LabHostState } from './helpers/lab.js';
import { FIXTURES } from './helpers/paths.js';

const DIR = join(FIXTURES, 'faults');
const args = (playbook: string, ...more: string[]) => [playbook, '-i', LAB_INVENTORY, ...more];
const play = (playbook: string, ...more: string[]) => runCli(args(playbook, ...more), { cwd: DIR, env: LAB_ENV });
const live = (playbook: string, ...more: string[]) => startCli(args(playbook, ...more), { cwd: DIR, env: LAB_ENV });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runId = () => `-e run_id=${randomBytes(6).toString('hex')}`.split(' ');
const NONE = { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 };

/**
 * Faults on the lab's real hosts: sshd gone before and during a run, the network cut, a
 * full disk, no permission, a wrong sudo password, a failing unit, the controller
 * interrupted or killed mid-upload and mid-handler, a host rebooted between runs. After
 * each: the message says what and where, no host holds a half-written or temp file, and
 * the next run converges.
 */
describe('faults on the lab', function () {
  this.timeout(300_000);
  let hosts: LabHostState[];
  const host = (name: string) => hosts.find((h) => h.name === name)!;
  const sh = (name: string, script: string) => inGuest(host(name), script).trim();
  /** Leftovers of interrupted writes, anywhere on a host's root filesystem. */
  const tempFiles = (name: string) => sh(name, "find / -xdev \\( -name '.senex-tmp*' \\) -print 2>/dev/null");
  /** SSH connections the guest's sshd still holds (the controller's are gone when it exits). */
  const sshSessions = async (name: string) => {
    let n = '';
    for (let i = 0; i < 50; i++) {
      n = sh(name, "ss -Htn state established '( sport = :22 )' | wc -l");
      if (n === '0') break;
      await sleep(100);
    }
    return Number(n);
  };

  before(async function () {
    requireLab(this);
    await up(3);
    hosts = requireLab(this);
  });

  afterEach(() => {
    // Whatever a test broke is mended for the next one, even when it failed half-way.
    for (const h of hosts ?? []) {
      execFileSync('ip', ['link', 'set', `sxlab${h.name.replace('lab', '')}`, 'up']);
      inGuest(h, 'systemctl start ssh.service; umount /srv/senex-full 2>/dev/null; true');
    }
  });

  it('sshd stopped on one host and killed on another mid-run: both UNREACHABLE with the task named, the third converges, exit 3', async () => {
    for (const h of hosts) inGuest(h, 'rm -rf /etc/senex-fault');
    sh('lab3', 'systemctl stop ssh.service');
    const run = live('midrun.yml', ...runId());
    await run.waitFor(/TASK \[the task the fault hits\]/);
    await sleep(1500);
    sh('lab2', 'pkill -KILL -x sshd; pkill -KILL -f "^sshd"; true');
    const r = await run.done;
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /fatal: \[lab3\]: UNREACHABLE! => connection refused by 198\.18\.3\.2:22/);
    assert.match(r.stdout, /fatal: \[lab2\]: UNREACHABLE! => connection lost: 198\.18\.2\.2 closed the connection \(during task 'the task the fault hits'\)/);
    assert.deepEqual(recap(r.stdout, 'lab1'), { ...NONE, ok: 4, changed: 3 });
    assert.deepEqual(recap(r.stdout, 'lab2'), { ...NONE, ok: 2, changed: 2, unreachable: 1 });
    assert.deepEqual(recap(r.stdout, 'lab3'), { ...NONE, unreachable: 1 });
    assert.equal(sh('lab2', 'test -e /etc/senex-fault/after && echo yes || echo no'), 'no');
    for (const h of ['lab1', 'lab2']) assert.equal(tempFiles(h), '', h);
  });

  it('the network cut mid-run: the host is UNREACHABLE within the keepalive bound (3 x 5 s), the others converge', async () => {
    const run = live('midrun.yml', ...runId());
    await run.waitFor(/TASK \[the task the fault hits\]/);
    await sleep(1000);
    execFileSync('ip', ['link', 'set', 'sxlab2', 'down']);
    const cut = Date.now();
    const r = await run.done;
    const afterCut = Date.now() - cut;
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /fatal: \[lab2\]: UNREACHABLE! => connection lost: 198\.18\.2\.2: Keepalive timeout \(during task 'the task the fault hits'\)/);
    assert.match(r.stdout, /TASK \[after the fault\] \*+\nchanged: \[lab\d\]\nchanged: \[lab\d\]\n\n/);
    for (const h of ['lab1', 'lab3']) assert.deepEqual([recap(r.stdout, h).failed, recap(r.stdout, h).unreachable], [0, 0], h);
    // ServerAliveInterval 5 s x ServerAliveCountMax 3 (docs/ssh.md): detection at 15-20 s.
    // Anything much longer would be the hang this test exists to catch.
    assert.ok(afterCut < 30_000, `the run took ${afterCut} ms after the cut`);
    execFileSync('ip', ['link', 'set', 'sxlab2', 'up']);
    const again = await play('midrun.yml', ...runId());
    assert.equal(again.code, 0, again.stdout);
  });

  it('a full disk, no permission, a failing unit: each fails with what and where, the old file intact, no temp file', async () => {
    sh(
      'lab1',
      [
        'mkdir -p /srv/senex-full && mount -t tmpfs -o size=64k tmpfs /srv/senex-full',
        'printf "old\\n" > /srv/senex-full/app.conf',
        'rm -f /etc/senex-denied.conf',
        'dd if=/dev/zero of=/srv/senex-full/filler bs=4k 2>/dev/null; true',
        "printf '[Service]\\nType=oneshot\\nExecStart=/bin/sh -c \"echo senex-fails is broken on purpose >&2; exit 3\"\\n' > /etc/systemd/system/senex-fails.service",
      ].join('\n'),
    );
    const r = await play('host-faults.yml');
    assert.equal(r.code, 0, r.stdout + r.stderr); // every failure is ignored, and counted
    assert.equal(recap(r.stdout, 'lab1').ignored, 3, r.stdout);
    const failure = (task: string) => r.stdout.split(`TASK [${task}]`)[1]!.split('\nTASK [')[0]!;
    assert.match(failure('a write to a full filesystem'), /fatal: \[lab1\]: FAILED! => .*\/srv\/senex-full\/app\.conf.*No space left on device/s);
    assert.match(failure('a write without become where only root may write'), /fatal: \[lab1\]: FAILED! => .*\/etc\/senex-denied\.conf.*Permission denied/s);
    assert.match(failure('a unit that fails to start'), /fatal: \[lab1\]: FAILED! => .*senex-fails\.service.*senex-fails is broken on purpose/s);
    assert.equal(sh('lab1', 'cat /srv/senex-full/app.conf'), 'old');
    assert.equal(sh('lab1', 'test -e /etc/senex-denied.conf && echo yes || echo no'), 'no');
    assert.equal(tempFiles('lab1'), '');
    sh('lab1', 'rm /etc/systemd/system/senex-fails.service && systemctl daemon-reload && systemctl reset-failed');
  });

  it('a wrong sudo password fails at once, says so, and leaves the host as it was; the right one works', async () => {
    sh(
      'lab1',
      [
        'id pwuser >/dev/null 2>&1 || useradd -m -s /bin/sh pwuser',
        "echo 'pwuser:right-horse' | chpasswd",
        "echo 'pwuser ALL=(ALL) ALL' > /etc/sudoers.d/pwuser",
        'install -d -o pwuser -m 700 /home/pwuser/.ssh && install -o pwuser -m 600 /home/deploy/.ssh/authorized_keys /home/pwuser/.ssh/',
        'rm -f /etc/senex-fault-pw.conf',
      ].join('\n'),
    );
    const as = ['-e', 'ansible_user=pwuser', ...runId()];
    const wrong = await play('become-password.yml', ...as, '-e', 'ansible_become_password=wrong-horse');
    assert.equal(wrong.code, 2, wrong.stdout + wrong.stderr);
    assert.match(wrong.stdout, /fatal: \[lab1\]: FAILED! => cannot become 'root' with sudo: incorrect sudo password/);
    assert.doesNotMatch(wrong.stdout + wrong.stderr, /wrong-horse/);
    assert.equal(sh('lab1', 'test -e /etc/senex-fault-pw.conf && echo yes || echo no'), 'no');
    const right = await play('become-password.yml', ...as, '-e', 'ansible_become_password=right-horse');
    assert.equal(right.code, 0, right.stdout + right.stderr);
    assert.equal(recap(right.stdout, 'lab1').changed, 1);
  });

  describe('the controller interrupted or killed', () => {
    let work: string;
    let big: Buffer;
    const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    const remoteSha = () => sh('lab1', 'sha256sum /srv/senex-fault/big.bin 2>/dev/null | cut -d" " -f1');
    const upload = (...more: string[]) => live('upload.yml', '-e', `work=${work}`, ...runId(), ...more);
    /** The host is clean: no temp file, no connection left, and two more runs converge to changed=0. */
    const assertRecovers = async () => {
      assert.equal(await sshSessions('lab1'), 0, 'a connection outlived the controller');
      const again = await play('upload.yml', '-e', `work=${work}`, '-e', 'run_id=steady');
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.equal(remoteSha(), sha(big));
      const steady = await play('upload.yml', '-e', `work=${work}`, '-e', 'run_id=steady');
      assert.equal(recap(steady.stdout, 'lab1').changed, 0, steady.stdout);
      assert.equal(tempFiles('lab1'), '');
    };

    before(() => {
      work = mkdtempSync(join(tmpdir(), 'senex-faults-'));
      big = randomBytes(40 * 1024 * 1024);
    });
    beforeEach(() => {
      // A new content each time: every upload below really replaces the file.
      big[0] = (big[0]! + 1) % 256;
      writeFileSync(join(work, 'big.bin'), big);
    });
    after(() => rmSync(work, { recursive: true, force: true }));

    /**
     * Resolves once part, not all, of big.bin has reached lab1's staging directory: the upload
     * is in flight. Streamed (issue 16 item 15), 40 MiB take well under a second, so a fixed
     * sleep after the task's header landed after the upload (and the next task had run);
     * this looks at the guest's filesystem through its root in /proc (no process per look).
     */
    const uploadInFlight = async () => {
      const dir = `/proc/${host('lab1').initPid}/root/srv/senex-fault`;
      for (let i = 0; i < 30_000; i++) {
        const names = existsSync(dir) ? readdirSync(dir) : [];
        for (const stage of names.filter((n) => n.startsWith('.senex-tmp.'))) {
          const size = statSync(join(dir, stage, 'new'), { throwIfNoEntry: false })?.size ?? 0;
          if (size > 0 && size < big.length) return;
        }
        await sleep(2);
      }
      assert.fail('the upload was never seen in flight');
    };

    it('SIGINT during a large upload: the upload finishes whole, notified handlers run, nothing more, exit 99', async () => {
      const run = upload();
      await run.waitFor(/TASK \[a large upload\]/);
      await uploadInFlight();
      run.signal('SIGINT');
      const r = await run.done;
      assert.equal(r.code, 99, r.stdout + r.stderr);
      assert.match(r.stderr, /interrupted: finishing the tasks in flight/);
      assert.equal(remoteSha(), sha(big), 'the upload in flight was not completed');
      assert.doesNotMatch(r.stdout, /TASK \[the task after the upload\]/);
      assert.match(r.stdout, /RUNNING HANDLER \[second handler\]/);
      assert.equal(tempFiles('lab1'), '');
      await assertRecovers();
    });

    it('SIGINT during a handler: that handler and the notified ones finish, exit 99', async () => {
      const run = upload();
      await run.waitFor(/RUNNING HANDLER \[slow handler\]/);
      await sleep(1000);
      run.signal('SIGINT');
      const r = await run.done;
      assert.equal(r.code, 99, r.stdout + r.stderr);
      const stamps = sh('lab1', 'cat /srv/senex-fault/handler-1 /srv/senex-fault/handler-2').split('\n').map(Number);
      assert.ok(stamps[0]! <= stamps[1]!, 'the handlers ran out of order');
      assert.equal(tempFiles('lab1'), '');
      await assertRecovers();
    });

    /** Stops the controller mid-upload with `stop`; the file must then be the old one or the new one. */
    const stopMidUpload = async (stop: (run: LiveRun) => Promise<void>) => {
      const before = remoteSha();
      const run = upload();
      await run.waitFor(/TASK \[a large upload\]/);
      await uploadInFlight();
      await stop(run);
      const r = await run.done;
      assert.ok([before, sha(big)].includes(remoteSha()), 'big.bin is neither the old nor the new content');
      await assertRecovers();
      return r;
    };

    it('SIGINT twice during an upload quits at once: the old file or the new one, never a mix; the next run converges', async () => {
      const r = await stopMidUpload(async (run) => {
        run.signal('SIGINT');
        await run.waitFor(/interrupted/);
        run.signal('SIGINT');
      });
      assert.equal(r.code, 99, r.stdout + r.stderr);
    });

    it('SIGKILL during an upload: the old file or the new one, never a mix; the next run converges and leaves no temp file', async () => {
      const r = await stopMidUpload(async (run) => run.signal('SIGKILL'));
      assert.equal(r.code, 137);
    });

    it('a writer killed on the host leaves a temp file; the next write into that directory removes it', async () => {
      // A write script SIGKILLed on the host (OOM killer, a crash) cannot clean up after itself:
      // the same temp file it would leave, made by a process that then dies the same way.
      sh('lab1', 'mkdir -p /srv/senex-fault && sh -c \'tmp=$(mktemp /srv/senex-fault/.senex-tmp.$$.XXXXXXXX); echo half > "$tmp"; kill -9 $$\' 2>/dev/null || true');
      assert.match(tempFiles('lab1'), /\/srv\/senex-fault\/\.senex-tmp\.\d+\./);
      await assertRecovers();
    });
  });

  it('a host rebooted between two runs: the second run converges', async () => {
    const first = await play('reboot.yml');
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const oldInit = host('lab2').initPid;
    await reboot('lab2');
    hosts = labHosts()!;
    assert.notEqual(host('lab2').initPid, oldInit, 'lab2 did not boot again');
    assert.equal(sh('lab2', 'test -e /run/senex-fault/state && echo yes || echo no'), 'no');
    const second = await play('reboot.yml');
    assert.equal(second.code, 0, second.stdout + second.stderr);
    // Only what lived in /run is put back: the directory and the file in it.
    assert.equal(recap(second.stdout, 'lab2').changed, 2, second.stdout);
    assert.equal(sh('lab2', 'cat /run/senex-fault/state'), 'in memory');
  });
});
