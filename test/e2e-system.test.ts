import assert from 'node:assert/strict';
import { join } from 'node:path';
import { up } from '../lab/lab.js';
import { recap, runCli } from './helpers/cli.js';
import { inGuest, LAB_ENV, LAB_INVENTORY, requireLab, type LabHostState } from './helpers/lab.js';
import { FIXTURES } from './helpers/paths.js';

const DIR = join(FIXTURES, 'system');
const play = (...args: string[]) => runCli(['site.yml', '-i', LAB_INVENTORY, ...args], { cwd: DIR, env: LAB_ENV });

// The system modules on real Debian 13 hosts with systemd: apt from the lab's local
// repository, debconf, users, groups, linger, a rootless quadlet unit, cron, services.
describe('system modules on the lab', function () {
  this.timeout(600_000);
  let hosts: LabHostState[];
  const host = (name: string) => hosts.find((h) => h.name === name)!;
  const sh = (name: string, script: string) => inGuest(host(name), script).trim();

  before(async function () {
    requireLab(this);
    await up(3, { fresh: true });
    hosts = requireLab(this);
  });

  it('--check on a fresh host reports the changes and makes none', async () => {
    const r = await play('--limit', 'lab2', '--check');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /would install cron, curl/);
    assert.match(r.stdout, /would useradd -u 2101 -g appgroup -G users -s \/bin\/sh -m -- appuser/);
    assert.equal(sh('lab2', "dpkg-query -W -f='${db:Status-Status}' cron 2>/dev/null || echo absent"), 'not-installed');
    assert.equal(sh('lab2', 'getent passwd appuser || echo missing'), 'missing');
    assert.equal(sh('lab2', 'test -e /var/lib/systemd/linger/senex && echo yes || echo no'), 'no');
    assert.equal(sh('lab2', 'test -e /etc/cron.d/senex-health && echo yes || echo no'), 'no');
    assert.equal(sh('lab2', 'runuser -u senex -- env XDG_RUNTIME_DIR=/run/user/$(id -u senex) podman secret exists hello_token && echo yes || echo no'), 'no');
  });

  it('converges a fresh host, then changes nothing', async () => {
    const first = await play('--limit', 'lab1');
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.ok(recap(first.stdout, 'lab1').changed >= 10, first.stdout);
    assert.equal(sh('lab1', "dpkg-query -W -f='${db:Status-Status}' cron curl postfix logrotate"), 'installedinstalledinstalledinstalled');
    assert.equal(sh('lab1', 'cat /etc/mailname'), 'lab.example');
    assert.equal(sh('lab1', 'postconf -h inet_interfaces'), 'loopback-only');
    assert.equal(sh('lab1', 'id -u appuser; id -gn appuser; id -Gn appuser').split('\n').join(' '), '2101 appgroup appgroup users');
    assert.equal(sh('lab1', 'test -e /var/lib/systemd/linger/senex && echo yes'), 'yes');
    // Quadlet generated the unit in senex's manager (reached from root with --machine);
    // `systemctl cat` refuses --machine on systemd 257 ("Cannot remotely cat units"), so read it as senex.
    const uid = sh('lab1', 'id -u senex');
    assert.equal(sh('lab1', 'systemctl --user --machine=senex@.host show -p LoadState,FragmentPath hello.service'), `LoadState=loaded\nFragmentPath=/run/user/${uid}/systemd/generator/hello.service`);
    assert.match(sh('lab1', `runuser -u senex -- env XDG_RUNTIME_DIR=/run/user/${uid} systemctl --user cat hello.service`), /--name=hello|ContainerName=hello/);
    assert.equal(sh('lab1', 'stat -c "%a %U" /etc/cron.d/senex-health; cat /etc/cron.d/senex-health'), '644 root\n#Ansible: health ping\n*/5 * * * * senex curl -fsS -m 10 --retry 5 -o /dev/null http://198.18.0.1/ping');
    assert.equal(sh('lab1', 'runuser -u senex -- env XDG_RUNTIME_DIR=/run/user/$(id -u senex) podman secret inspect --showsecret --format "{{.SecretData}}" hello_token'), 'first-token-value');
    const second = await play('--limit', 'lab1', '--detailed-exitcode');
    assert.equal(second.code, 0, second.stdout);
    assert.equal(recap(second.stdout, 'lab1').changed, 0);
  });

  it('removes a package, then changes nothing', async () => {
    const r = await play('--limit', 'lab1', '-e', 'extra_package_state=absent');
    assert.equal(recap(r.stdout, 'lab1').changed, 1, r.stdout);
    assert.equal(sh('lab1', "dpkg-query -W -f='${db:Status-Status}' logrotate"), 'config-files');
    const again = await play('--limit', 'lab1', '-e', 'extra_package_state=absent');
    assert.equal(recap(again.stdout, 'lab1').changed, 0);
  });

  it('a quadlet unit that fails the dry run is never installed; the old one stays', async () => {
    const before = sh('lab1', 'sha256sum /home/senex/.config/containers/systemd/hello.container');
    const r = await play('--limit', 'lab1', '-e', 'hello_container=broken.container');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /unsupported key 'Memory'/);
    assert.equal(sh('lab1', 'sha256sum /home/senex/.config/containers/systemd/hello.container'), before);
    assert.equal(sh('lab1', 'ls -a /home/senex/.config/containers/systemd/ | grep -c "^\\." || true'), '2');
  });

  it('a changed podman secret is replaced, and its value never printed', async () => {
    const r = await play('--limit', 'lab1', '--diff', '-vvv', '-e', 'hello_token=second-token-value');
    assert.equal(recap(r.stdout, 'lab1').changed, 1, r.stdout);
    assert.doesNotMatch(r.stdout + r.stderr, /second-token-value/);
    assert.equal(sh('lab1', 'runuser -u senex -- env XDG_RUNTIME_DIR=/run/user/$(id -u senex) podman secret inspect --showsecret --format "{{.SecretData}}" hello_token'), 'second-token-value');
  });
});
