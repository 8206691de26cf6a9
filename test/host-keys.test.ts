import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { up } from '../lab/lab.js';
import { recap, runCli } from './helpers/cli.js';
import { inGuest, LAB_ENV, LAB_INVENTORY, requireLab, type LabHostState } from './helpers/lab.js';
import { FIXTURES } from './helpers/paths.js';

const KNOWN_HOSTS = join(process.env.SENEX_LAB_STATE ?? '/var/lib/senex-lab', 'known_hosts');
const ping = (...more: string[]) => runCli(['ping.yml', '-i', LAB_INVENTORY, ...more], { cwd: join(FIXTURES, 'faults'), env: LAB_ENV });

// A man in the middle, simulated: lab2 answers with a new host key while the inventory's
// known_hosts holds its old one. No policy but `off` may connect, and none may rewrite the
// recorded key.
describe('host keys on the lab', function () {
  this.timeout(120_000);
  let lab2: LabHostState;

  before(async function () {
    requireLab(this);
    await up(3);
    lab2 = requireLab(this).find((h) => h.name === 'lab2')!;
    // The real keys are kept aside and put back after.
    inGuest(lab2, 'mkdir -p /root/real-host-keys && cp -p /etc/ssh/ssh_host_* /root/real-host-keys/ && rm /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh.service');
  });

  after(() => {
    if (lab2) inGuest(lab2, 'rm -f /etc/ssh/ssh_host_* && cp -p /root/real-host-keys/* /etc/ssh/ && rm -r /root/real-host-keys && systemctl restart ssh.service');
  });

  for (const policy of ['strict', 'accept-new'] as const) {
    it(`--host-key-checking ${policy}: the changed key is refused, the other hosts run, known_hosts is untouched`, async () => {
      const before = readFileSync(KNOWN_HOSTS);
      const r = await ping('--host-key-checking', policy);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stdout, /fatal: \[lab2\]: UNREACHABLE! => HOST KEY FOR 198\.18\.2\.2 HAS CHANGED: it presented SHA256:\S+, but \/\S+known_hosts:2 holds a different key\. Someone may be intercepting the connection\./);
      assert.match(r.stdout + r.stderr, /ssh-keygen -R '198\.18\.2\.2'/);
      assert.deepEqual(recap(r.stdout, 'lab2'), { ok: 0, changed: 0, unreachable: 1, failed: 0, skipped: 0, rescued: 0, ignored: 0 });
      for (const h of ['lab1', 'lab3']) assert.equal(recap(r.stdout, h).ok, 1, h);
      assert.deepEqual(readFileSync(KNOWN_HOSTS), before, 'known_hosts was rewritten');
    });
  }

  it('--host-key-checking off connects with a loud warning, and still records nothing', async () => {
    const before = readFileSync(KNOWN_HOSTS);
    const r = await ping('--host-key-checking', 'off');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /HOST KEY CHECKING IS OFF: 198\.18\.2\.2 presented SHA256:\S+, which differs from/);
    assert.deepEqual(readFileSync(KNOWN_HOSTS), before);
  });
});
