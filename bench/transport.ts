/**
 * 200 trivial commands on one host: through senex-play's persistent shell, as one ssh2
 * exec channel per command, and as 200 `ssh host true` processes (OpenSSH client).
 * Median of 5 runs each. Usage: npm run bench:transport
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { resolveSshOptions } from '../src/transport/ssh/options.js';
import { SshTransport } from '../src/transport/ssh/ssh-transport.js';
import { ensureTestUsers, makeClientKeys, TestSshd, USERS } from '../test/helpers/sshd.js';
import { testdir } from '../test/helpers/testdir.js';

const N = 200;
const RUNS = 5;
const run = promisify(execFile);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  ensureTestUsers();
  const keys = makeClientKeys();
  const sshd = await new TestSshd(keys).start();
  const home = testdir();
  const known = join(home.dir, 'known_hosts');
  writeFileSync(known, `${sshd.knownHostsLine()}\n`);
  const vars = { ansible_host: '127.0.0.1', ansible_port: sshd.port, ansible_user: USERS.nopw, ansible_ssh_private_key_file: keys.plain, ansible_ssh_common_args: `-o UserKnownHostsFile=${known}` };
  const spec = { host: 'bench', connection: 'ssh', address: '127.0.0.1', port: sshd.port, user: USERS.nopw, vars };
  const results: Record<string, number[]> = { persistent: [], channelPerCommand: [], sshProcess: [] };
  try {
    for (let r = 0; r < RUNS; r++) {
      const t = new SshTransport(resolveSshOptions(spec, { home: home.dir, agentSocket: null, warn: () => {} }));
      await t.connect();
      await t.exec({ script: 'true' }); // shell started: measure round trips only
      results.persistent!.push(await time(async () => {
        for (let i = 0; i < N; i++) await t.exec({ script: 'true' });
      }));
      await t.close();

      const client = new ssh2.Client();
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve()).once('error', reject);
        client.connect({ host: '127.0.0.1', port: sshd.port, username: USERS.nopw, privateKey: readFileSync(keys.plain) });
      });
      results.channelPerCommand!.push(await time(async () => {
        for (let i = 0; i < N; i++) {
          await new Promise<void>((resolve, reject) =>
            client.exec('true', (err, ch) => (err ? reject(err) : ch.on('close', () => resolve()).resume())),
          );
        }
      }));
      client.end();

      const args = ['-p', String(sshd.port), '-i', keys.plain, '-o', `UserKnownHostsFile=${known}`, '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', `${USERS.nopw}@127.0.0.1`, 'true'];
      results.sshProcess!.push(await time(async () => {
        for (let i = 0; i < N; i++) await run('ssh', args);
      }));
    }
  } finally {
    sshd.stop();
    home.cleanup();
  }
  const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
  const row = (name: string, key: string) => `| ${name} | ${m[key]!.toFixed(0)} ms | ${(m[key]! / N).toFixed(2)} ms | ${(m[key]! / m.persistent!).toFixed(1)}x |`;
  console.log(`\n${N} trivial commands on one host over SSH to loopback, median of ${RUNS} runs\n`);
  console.log('| how | total | per command | vs persistent shell |\n|---|---|---|---|');
  console.log(row('senex-play persistent shell (one channel)', 'persistent'));
  console.log(row('one ssh2 exec channel per command', 'channelPerCommand'));
  console.log(row('`ssh host true` per command (OpenSSH client)', 'sshProcess'));
}

void main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
