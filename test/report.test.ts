import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dumpDom, gridsOf, requireChromium, resultHtml, screenshot, textOf } from './helpers/browser.js';
import { recap, runCli } from './helpers/cli.js';
import { ensureTestUsers, freePort, makeClientKeys, TestSshd, USERS, type ClientKeys } from './helpers/sshd.js';
import { testdir } from './helpers/testdir.js';
import { htmlReporter } from '../src/output/report.js';
import type { RunEvent, TaskStatus } from '../src/output/events.js';
import { encryptVault } from '../src/vault/format.js';

// --report FILE.html, opened in a real browser (Debian's chromium, headless): the grid and
// the diffs are read back from the DOM the browser built, not from the HTML we wrote.

const SECRET = 'db-Pa55word-from-the-vault';
const VAULT_PASSWORD = 'report test vault password';

const PLAYBOOK = `- name: report over ssh
  hosts: all
  gather_facts: false
  become: true
  vars_files: [secrets.yml]
  tasks:
    - name: config file
      copy: {dest: "{{ out }}/{{ inventory_hostname }}.conf", content: "listen = 80\\nname = {{ inventory_hostname }}\\n"}
    - name: raise the port
      lineinfile: {path: "{{ out }}/{{ inventory_hostname }}.conf", regexp: "^listen", line: "listen = 8080"}
    - name: the secret file
      copy: {dest: "{{ out }}/{{ inventory_hostname }}.secret", content: "password = {{ db_password }}\\n", mode: "0600"}
    - name: only on web2
      command: "true"
      when: inventory_hostname == 'web2'
    - name: fails on web2
      command: "sh -c 'echo cannot reach the database as {{ db_password }} >&2; exit 3'"
      when: inventory_hostname == 'web2'
    - name: say the password
      debug: {msg: "connecting with {{ db_password }}"}
`;

describe('--report: the run as an HTML page, in a browser', function () {
  this.timeout(180_000);
  let t: ReturnType<typeof testdir>;
  beforeEach(() => (t = testdir()));
  afterEach(() => t.cleanup());

  describe('a real run over SSH (loopback sshd)', () => {
    let keys: ClientKeys;
    let sshd: TestSshd;
    before(async function () {
      requireChromium(this);
      ensureTestUsers();
      keys = makeClientKeys();
      sshd = await new TestSshd(keys).start();
    });
    after(() => sshd?.stop());

    it('shows each host x task status, the diffs and the failure; the vaulted secret never reaches the file', async () => {
      const known = join(t.dir, 'known_hosts');
      writeFileSync(known, `${sshd.knownHostsLine()}\n`);
      const deadPort = await freePort();
      writeFileSync(
        join(t.dir, 'inventory.yml'),
        `all:\n  vars:\n    ansible_host: 127.0.0.1\n    ansible_user: ${USERS.nopw}\n    ansible_ssh_private_key_file: ${keys.plain}\n    ansible_ssh_common_args: "-o UserKnownHostsFile=${known}"\n    out: ${t.dir}/out\n  hosts:\n    web1: {ansible_port: ${sshd.port}}\n    web2: {ansible_port: ${sshd.port}}\n    gone: {ansible_port: ${deadPort}}\n`,
      );
      writeFileSync(join(t.dir, 'site.yml'), PLAYBOOK);
      mkdirSync(join(t.dir, 'out'));
      writeFileSync(join(t.dir, 'secrets.yml'), encryptVault(`db_password: "${SECRET}"\n`, { password: VAULT_PASSWORD, label: 'default' }));
      writeFileSync(join(t.dir, 'vault-pass'), `${VAULT_PASSWORD}\n`, { mode: 0o600 });
      const run = await runCli(['site.yml', '-i', 'inventory.yml', '--diff', '--vault-password-file', 'vault-pass', '--report', 'report.html'], { cwd: t.dir, env: { SSH_AUTH_SOCK: '' } });
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.equal(recap(run.stdout, "web1").changed, 3, run.stdout);

      const report = join(t.dir, 'report.html');
      assert.equal(statSync(report).mode & 0o777, 0o600);
      const html = readFileSync(report, 'utf8');
      assert.ok(!html.includes(SECRET), 'the vaulted secret is in the report');
      assert.ok(!/https?:\/\//.test(html.replace(/<!doctype html>/i, '')), 'the page names a URL: it must need no network');

      const dom = await dumpDom(report);
      const [grid, ...others] = gridsOf(dom);
      assert.equal(others.length, 0);
      assert.deepEqual(grid!.hosts, ['web1', 'web2', 'gone']);
      const row = (name: string) => grid!.tasks.find((task) => task.name === name)?.cells;
      assert.deepEqual(row('config file'), ['changed', 'changed', 'unreachable']);
      assert.deepEqual(row('raise the port'), ['changed', 'changed', 'none']);
      assert.deepEqual(row('only on web2'), ['skipped', 'changed', 'none']);
      assert.deepEqual(row('fails on web2'), ['skipped', 'failed', 'none']);
      assert.deepEqual(row('say the password'), ['ok', 'none', 'none']);

      // Task 2 on web1: its diff, line by line as the browser parsed it.
      const edit = resultHtml(dom, 'd-0-1-0');
      assert.match(edit, /<span class="dr">-listen = 80<\/span>\n<span class="da">\+listen = 8080<\/span>/);
      assert.match(textOf(edit), /--- before: .*\/out\/web1\.conf/);
      // The file holding the secret: only checksums; the debug message: masked.
      assert.match(textOf(resultHtml(dom, 'd-0-2-0')), /content hidden: absent -> sha256 [0-9a-f]{16}…/);
      assert.match(textOf(resultHtml(dom, 'd-0-5-0')), /connecting with \*{8}/);
      assert.match(textOf(resultHtml(dom, 'd-0-4-1')), /non-zero return code[\s\S]*cannot reach the database as \*{8}/);
      assert.match(textOf(resultHtml(dom, 'd-0-0-2')), /connection refused by 127\.0\.0\.1/);
      // The recap, and a cell's link opening its task's details (the page's script ran).
      const recapRows = [.../<table id="recap">[\s\S]*?<\/table>/.exec(dom)![0].matchAll(/<tr class="\w+"><th>(\w+)<\/th>((?:<td[^>]*>\d+<\/td>){7})/g)];
      const counts = ['ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored'];
      for (const [, host, cells] of recapRows) {
        const shown = Object.fromEntries([...cells!.matchAll(/>(\d+)</g)].map((m, i) => [counts[i]!, Number(m[1])]));
        assert.deepEqual(shown, recap(run.stdout, host!), host);
      }
      assert.deepEqual(recapRows.map((r) => r[1]), ['gone', 'web1', 'web2']);
      assert.doesNotMatch(dom, /<details id="t-0-1" open/);
      assert.match(dom, /<details id="t-0-4" open="">/, 'the failed task is not open from the start');
      assert.match(await dumpDom(report, '#d-0-1-0'), /<details id="t-0-1" open="">/);

      // The second with a cell's link followed, tall enough that the opened task needs no scrolling.
      for (const [png, size, fragment] of [['/tmp/senex-report-ssh.png', '1280,1600', ''], ['/tmp/senex-report-ssh-diff.png', '1280,2600', '#d-0-1-0']] as const) {
        await screenshot(report, png, size, fragment);
        assert.deepEqual([...readFileSync(png).subarray(1, 4)], [...Buffer.from('PNG')]);
        console.log(`      screenshot: ${png}`);
      }
    });
  });

  it('30 hosts x 80 tasks of generated events: every cell in the grid, and the page stays small', async function () {
    requireChromium(this);
    const hosts = Array.from({ length: 30 }, (_, i) => `host-${String(i + 1).padStart(2, '0')}.example.internal`);
    const statuses: TaskStatus[] = ['ok', 'changed', 'ok', 'skipped', 'ok', 'failed', 'ok', 'unreachable'];
    let clock = 0;
    const reporter = htmlReporter(join(t.dir, 'big.html'), t.dir, () => clock);
    const send = (e: RunEvent) => reporter.handle(e);
    send({ kind: 'run_start', playbook: join(t.dir, 'site.yml'), check: false, diff: true });
    send({ kind: 'play_start', name: 'big', hosts });
    const expected: string[][] = [];
    for (let task = 0; task < 80; task++) {
      send({ kind: 'task_start', name: `task number ${task + 1} with a longer name`, where: `site.yml:${task + 3}:7`, handler: false, hosts });
      expected.push([]);
      hosts.forEach((host, h) => {
        // A status per cell that no two neighbours share, and a slow host (host 7).
        const status = statuses[(task + h) % statuses.length]!;
        const durationMs = h === 6 ? 900 : 20 + ((task * 7 + h) % 40);
        clock += durationMs / 10;
        const diffs = status === 'changed' ? [{ path: `/etc/app/${task}.conf`, before: 'a = 1\nb = 2\n', after: `a = 1\nb = ${task}\n` }] : [];
        const changes = status === 'changed' ? [`write /etc/app/${task}.conf`] : [];
        send({ kind: 'host_result', task: `t${task}`, where: '', result: { host, status, changes, diffs, durationMs, ...(status === 'failed' ? { msg: 'boom' } : {}) } });
        expected[task]!.push(status);
      });
    }
    send({ kind: 'recap', stats: Object.fromEntries(hosts.map((h) => [h, { ok: 1, changed: 1, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 }])), transport: {}, durationMs: clock });
    await reporter.close();

    const file = join(t.dir, 'big.html');
    const bytes = statSync(file).size;
    assert.ok(bytes < 2_000_000, `a 30 x 80 report is ${bytes} bytes`);
    // How long the browser takes to load and lay it out, measured by a page around it (reported, not asserted).
    writeFileSync(join(t.dir, 'frame.html'), `<!doctype html><script>var t0=performance.now()</script><iframe src="big.html" style="width:1280px;height:900px" onload="document.title='loaded in '+Math.round(performance.now()-t0)+' ms'"></iframe>`);
    const frame = await dumpDom(join(t.dir, 'frame.html'));
    const dom = await dumpDom(file);
    const [grid] = gridsOf(dom);
    assert.equal(grid!.hosts.length, 30);
    assert.deepEqual(grid!.tasks.map((task) => task.cells), expected);
    await screenshot(file, '/tmp/senex-report-30x80.png', '1400,1800');
    console.log(`      ${bytes} bytes, ${/<title>(.*?)<\/title>/.exec(frame)?.[1] ?? 'load time not measured'}; screenshot: /tmp/senex-report-30x80.png`);
  });

  it('the report file is created 0600, and a symlink planted at its name is replaced, never written through', async () => {
    const victim = join(t.dir, 'victim');
    writeFileSync(victim, 'precious\n', { mode: 0o644 });
    const target = join(t.dir, 'r.html');
    symlinkSync(victim, target);
    const reporter = htmlReporter('r.html', t.dir, () => 0);
    reporter.handle({ kind: 'run_start', playbook: 'site.yml', check: true, diff: false });
    await reporter.close();
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.ok(lstatSync(target).isFile(), 'the report is still a symlink');
    assert.equal(lstatSync(target).mode & 0o777, 0o600);
    assert.match(readFileSync(target, 'utf8'), /The run ended before its recap/);
    // An existing, readable report is replaced by a private one.
    writeFileSync(join(t.dir, 'old.html'), 'old', { mode: 0o644 });
    const again = htmlReporter('old.html', t.dir, () => 0);
    await again.close();
    assert.equal(statSync(join(t.dir, 'old.html')).mode & 0o777, 0o600);
    assert.ok(!existsSync(join(t.dir, 'missing-dir', 'x.html')));
    await assert.rejects(htmlReporter('missing-dir/x.html', t.dir).close(), /cannot write the run report .*missing-dir\/x\.html: directory .*missing-dir does not exist/);
  });
});
