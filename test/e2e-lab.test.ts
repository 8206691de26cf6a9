import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { parse } from 'yaml';
import { join } from 'node:path';
import { up } from '../lab/lab.js';
import { recap, runCli } from './helpers/cli.js';
import { fingerprintGuest, inGuest, LAB_ENV, LAB_INVENTORY, requireLab, type LabHostState } from './helpers/lab.js';
import { FIXTURES } from './helpers/paths.js';
import { dumpDom, gridsOf, requireChromium, resultHtml, screenshot, textOf } from './helpers/browser.js';
import { testdir } from './helpers/testdir.js';
import { decryptVault } from '../src/vault/format.js';

const DIR = join(FIXTURES, 'e2e');

// The loopback --report test's playbook (test/report.test.ts), on the lab, with a secret from the lab's vault.
const REPORT_PLAYBOOK = `- name: report on the lab
  hosts: lab
  gather_facts: false
  become: true
  tasks:
    - name: config file
      copy: {dest: /etc/e2e-report.conf, content: "listen = 80\\nname = {{ inventory_hostname }}\\n"}
    - name: raise the port
      lineinfile: {path: /etc/e2e-report.conf, regexp: "^listen", line: "listen = 8080"}
    - name: the secret file
      copy: {dest: /etc/e2e-report.secret, content: "password = {{ vault_grafana_admin_password }}\\n", mode: "0600"}
    - name: only on lab2
      command: "true"
      when: inventory_hostname == 'lab2'
    - name: fails on lab3
      command: "sh -c 'echo cannot reach the database >&2; exit 3'"
      when: inventory_hostname == 'lab3'
    - name: say the password
      debug: {msg: "connecting with {{ vault_grafana_admin_password }}"}
`;

/** A value of the lab's own vault (inventory/lab/group_vars/senex/vault.yml), opened with its password. */
function labVaultValue(name: string): string {
  const password = readFileSync(LAB_ENV.ANSIBLE_VAULT_PASSWORD_FILE, 'utf8').trim();
  const text = readFileSync(join(LAB_INVENTORY, 'group_vars', 'senex', 'vault.yml'), 'utf8');
  const vars = parse(decryptVault(text, [{ label: 'default', password, source: 'the lab' }]).plaintext.toString('utf8')) as Record<string, string>;
  assert.ok(vars[name] && vars[name].length >= 4, `the lab's vault has no ${name}`);
  return vars[name];
}
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

  it('--report of a lab run, opened in headless Chromium: the grid and a diff from the DOM, a screenshot, no vaulted secret', async function () {
    requireChromium(this);
    const t = testdir({ 'site.yml': REPORT_PLAYBOOK });
    try {
      for (const h of hosts) inGuest(h, 'rm -f /etc/e2e-report.conf /etc/e2e-report.secret');
      const r = await runCli(['site.yml', '-i', LAB_INVENTORY, '--diff', '--report', 'report.html'], { cwd: t.dir, env: LAB_ENV });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const secret = labVaultValue('vault_grafana_admin_password');
      const file = join(t.dir, 'report.html');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.ok(!readFileSync(file, 'utf8').includes(secret), 'a vaulted secret of the lab is in the report');
      const dom = await dumpDom(file);
      const [grid] = gridsOf(dom);
      assert.deepEqual(grid!.hosts, ['lab1', 'lab2', 'lab3']);
      const row = (name: string) => grid!.tasks.find((task) => task.name === name)?.cells;
      assert.deepEqual(row('raise the port'), ['changed', 'changed', 'changed']);
      assert.deepEqual(row('only on lab2'), ['skipped', 'changed', 'skipped']);
      assert.deepEqual(row('fails on lab3'), ['skipped', 'skipped', 'failed']);
      assert.deepEqual(row('say the password'), ['ok', 'ok', 'none']);
      assert.match(resultHtml(dom, 'd-0-1-1'), /<span class="dr">-listen = 80<\/span>\n<span class="da">\+listen = 8080<\/span>/);
      assert.match(textOf(resultHtml(dom, 'd-0-2-0')), /content hidden: absent -> sha256/);
      assert.match(textOf(resultHtml(dom, 'd-0-5-0')), /connecting with \*{8}/);
      await screenshot(file, '/tmp/senex-report-lab.png');
      console.log('      screenshot: /tmp/senex-report-lab.png');
    } finally {
      for (const h of hosts) inGuest(h, 'rm -f /etc/e2e-report.conf /etc/e2e-report.secret');
      t.cleanup();
    }
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
