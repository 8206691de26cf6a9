/**
 * A big `copy` (2 GiB by default) over SSH to a loopback sshd: senex-play's streamed upload
 * against OpenSSH's `scp` to the same server, the same user and the same disk. Prints each
 * one's wall time and throughput, senex-play's peak RSS, and the ratio to scp (issue 16's
 * goal: under 150 MB RSS, at least 80% of scp's throughput).
 * Usage: npm run bench:big-copy [-- SIZE_MIB]
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliMeasured, runProcess } from '../test/helpers/cli.js';
import { ensureTestUsers, makeClientKeys, TestSshd, USERS } from '../test/helpers/sshd.js';
import { testdir } from '../test/helpers/testdir.js';

const MIB = 1024 * 1024;

function sha256(path: string): string {
  return execFileSync('sha256sum', ['--', path], { encoding: 'utf8' }).split(' ')[0]!;
}

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 2048);
  ensureTestUsers();
  const keys = makeClientKeys();
  const sshd = await new TestSshd(keys).start();
  const work = testdir();
  // The login user's own directory: neither tool needs become, so both measure the transfer.
  const far = join('/home', USERS.nopw, `senex-bench-${process.pid}`);
  mkdirSync(far, { mode: 0o700 });
  const uid = Number(execFileSync('id', ['-u', USERS.nopw], { encoding: 'utf8' }));
  chownSync(far, uid, uid);
  try {
    const src = join(work.dir, 'big.bin');
    execFileSync('sh', ['-c', `head -c ${sizeMiB * MIB} /dev/urandom > "$1"`, 'sh', src]);
    const want = sha256(src);
    const known = join(work.dir, 'known_hosts');
    writeFileSync(known, `${sshd.knownHostsLine()}\n`);

    const scpStarted = performance.now();
    const scp = await runProcess(
      'scp',
      ['-q', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${known}`, '-i', keys.plain, '-P', String(sshd.port), src, `${USERS.nopw}@127.0.0.1:${far}/by-scp`],
      { cwd: work.dir },
    );
    const scpMs = performance.now() - scpStarted;
    if (scp.code !== 0) throw new Error(`scp failed: ${scp.stderr}`);
    // senex-play's atomic write fsyncs the new file before renaming it; scp does not.
    const syncStarted = performance.now();
    execFileSync('sync', ['--', join(far, 'by-scp')]);
    const scpSyncMs = scpMs + performance.now() - syncStarted;

    writeFileSync(
      join(work.dir, 'inventory.yml'),
      `all:\n  hosts:\n    far:\n      ansible_host: 127.0.0.1\n      ansible_port: ${sshd.port}\n      ansible_user: ${USERS.nopw}\n` +
        `      ansible_ssh_private_key_file: ${keys.plain}\n      ansible_ssh_common_args: "-o UserKnownHostsFile=${known}"\n`,
    );
    writeFileSync(join(work.dir, 'site.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - copy: {src: big.bin, dest: "${far}/by-senex"}\n`);
    const senex = await runCliMeasured(['site.yml', '-i', 'inventory.yml'], { cwd: work.dir, env: { SSH_AUTH_SOCK: '' } });
    if (senex.code !== 0) throw new Error(`senex-play failed:\n${senex.stdout}${senex.stderr}`);
    for (const name of ['by-scp', 'by-senex']) if (sha256(join(far, name)) !== want) throw new Error(`${name} arrived different`);

    const rate = (ms: number) => (sizeMiB / (ms / 1000)).toFixed(0);
    console.log(`copy of ${sizeMiB} MiB over SSH to a loopback sshd (sha256 checked on both)`);
    console.log(`  scp:        ${(scpMs / 1000).toFixed(1)} s, ${rate(scpMs)} MiB/s`);
    console.log(`  senex-play: ${(senex.ms / 1000).toFixed(1)} s, ${rate(senex.ms)} MiB/s (the whole run: start, connect, probe, send, fsync), peak RSS ${senex.peakRssMiB.toFixed(0)} MiB`);
    console.log(`  scp + fsync: ${(scpSyncMs / 1000).toFixed(1)} s, ${rate(scpSyncMs)} MiB/s`);
    console.log(`  senex-play / scp throughput: ${((100 * scpMs) / senex.ms).toFixed(0)}% (of scp + fsync: ${((100 * scpSyncMs) / senex.ms).toFixed(0)}%)`);
  } finally {
    rmSync(far, { recursive: true, force: true });
    work.cleanup();
    sshd.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
