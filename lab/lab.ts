/**
 * The lab: real Debian 13 hosts with systemd as PID 1, on this machine.
 *   npm run lab -- up [N]     build the image once (cached), boot N hosts (default 3)
 *   npm run lab -- down       stop every lab host; leaves no mount, namespace, link or process
 *   npm run lab -- reset [N]  the same, every host rebooted on a fresh root
 *   npm run lab -- reboot H   reboot one host (its disk survives, /run does not)
 *   npm run lab -- status     what is running
 * Each host: an overlayfs root over the shared image, its own network namespace and
 * 198.18.N.2 address, its own SSH host keys and machine-id, booted with systemd-nspawn.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decryptVault, encryptVault } from '../src/vault/format.js';
import { resolveSshOptions } from '../src/transport/ssh/options.js';
import { SshTransport } from '../src/transport/ssh/ssh-transport.js';
import { alive, guestProcesses, mountsBelow, run, sleep } from './system.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RECIPE = join(REPO, 'lab', 'build-image.sh');
/** Images are big and slow to build: cached outside the repository, across clones. */
const CACHE = process.env.SENEX_LAB_CACHE ?? '/var/cache/senex-lab';
const STATE = process.env.SENEX_LAB_STATE ?? '/var/lib/senex-lab';
/** The key and known_hosts every lab login uses (exported for the benchmark's bare logins). */
export const LAB_KEY = join(CACHE, 'lab_ed25519');
export const LAB_KNOWN_HOSTS = join(STATE, 'known_hosts');
const INVENTORY = join(REPO, 'inventory', 'lab', 'hosts.yml');
/** The lab's secrets: generated per machine, encrypted with a lab-only vault password. */
const LAB_VAULT = join(REPO, 'inventory', 'lab', 'group_vars', 'senex', 'vault.yml');
export const LAB_VAULT_PASSWORD_FILE = join(STATE, 'vault-password');
const PREREQS: Record<string, string> = { debootstrap: 'debootstrap', 'systemd-nspawn': 'systemd-container', ip: 'iproute2', 'ssh-keygen': 'openssh-client', 'apt-ftparchive': 'apt-utils' };

export interface LabHost {
  name: string;
  index: number;
  address: string;
  nspawnPid?: number;
  initPid?: number;
}

const hostDir = (name: string) => join(STATE, 'hosts', name);
const netns = (name: string) => `senex-${name}`;
const vethHost = (index: number) => `sxlab${index}`;
const vethGuest = (index: number) => `sxlab${index}g`;
export const addressOf = (index: number) => `198.18.${index}.2`;

function log(msg: string): void {
  process.stderr.write(`lab: ${msg}\n`);
}

/** One lab command at a time: a lock file holding the owner's pid (stale locks are taken over). */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(STATE, { recursive: true });
  const lock = join(STATE, 'lock');
  for (let waited = 0; ; waited += 500) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      const owner = Number(readFileSync(lock, 'utf8') || 0);
      if (!alive(owner)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (waited === 0) log(`waiting for another lab command (pid ${owner}) to finish`);
      if (waited > 15 * 60_000) throw new Error(`another lab command (pid ${owner}) holds ${lock}`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

async function ensurePrereqs(): Promise<void> {
  const missing: string[] = [];
  for (const [cmd, pkg] of Object.entries(PREREQS)) if (!(await run('sh', ['-c', `command -v ${cmd}`], { allowFail: true })).trim()) missing.push(pkg);
  if (missing.length === 0) return;
  log(`installing ${missing.join(' ')}`);
  await run('apt-get', ['update', '-qq']);
  await run('apt-get', ['install', '-y', '-qq', ...missing]);
}

/**
 * Every guest's systemd takes several inotify instances; past about a dozen guests the
 * kernel's default of 128 per user runs out and a guest's PID 1 exits at boot ("Failed to
 * allocate manager object: Too many open files"). Raised, never lowered, as for any host
 * that runs many containers.
 */
async function ensureInotify(hosts: number): Promise<void> {
  const wanted: Record<string, number> = { 'fs.inotify.max_user_instances': Math.max(128, 32 * hosts), 'fs.inotify.max_user_watches': Math.max(65536, 16384 * hosts) };
  for (const [key, value] of Object.entries(wanted)) {
    const file = `/proc/sys/${key.replace(/\./g, '/')}`;
    if (Number(readFileSync(file, 'utf8')) >= value) continue;
    log(`raising ${key} to ${value} for ${hosts} guests`);
    writeFileSync(file, `${value}\n`);
  }
}

/** The base image for the current recipe, built once; a new recipe builds a new image. */
async function ensureImage(): Promise<string> {
  mkdirSync(CACHE, { recursive: true });
  if (!existsSync(LAB_KEY)) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'senex-lab', '-f', LAB_KEY]);
  const recipe = createHash('sha256').update(readFileSync(RECIPE)).update(readFileSync(`${LAB_KEY}.pub`)).digest('hex').slice(0, 16);
  const image = join(CACHE, `base-${recipe}`);
  if (existsSync(image)) return image;
  log(`building the base image (Debian 13, a few minutes) into ${image}`);
  const started = Date.now();
  await new Promise<void>((resolveBuild, reject) => {
    const child = spawn('bash', [RECIPE, image, `${LAB_KEY}.pub`], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('close', (code) => (code === 0 ? resolveBuild() : reject(new Error(`image build failed (exit ${code}); see the output above`))));
  });
  log(`image built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return image;
}

function readState(): LabHost[] {
  const file = join(STATE, 'hosts.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LabHost[]) : [];
}

function writeState(hosts: LabHost[]): void {
  writeFileSync(join(STATE, 'hosts.json'), JSON.stringify(hosts, null, 2));
}

async function setUpNetwork(h: LabHost): Promise<void> {
  const ns = netns(h.name);
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['link', 'add', vethHost(h.index), 'type', 'veth', 'peer', 'name', vethGuest(h.index)]);
  await run('ip', ['link', 'set', vethGuest(h.index), 'netns', ns]);
  await run('ip', ['addr', 'add', `198.18.${h.index}.1/24`, 'dev', vethHost(h.index)]);
  await run('ip', ['link', 'set', vethHost(h.index), 'up']);
  const inNs = (...args: string[]) => run('ip', ['netns', 'exec', ns, 'ip', ...args]);
  await inNs('link', 'set', 'lo', 'up');
  await inNs('link', 'set', vethGuest(h.index), 'name', 'eth0');
  await inNs('addr', 'add', `${h.address}/24`, 'dev', 'eth0');
  await inNs('link', 'set', 'eth0', 'up');
  await inNs('route', 'add', 'default', 'via', `198.18.${h.index}.1`);
}

/** A root for the host: overlay over the image, with its own hostname, machine-id and host keys. */
async function prepareRoot(h: LabHost, image: string): Promise<string> {
  const dir = hostDir(h.name);
  const merged = join(dir, 'merged');
  for (const d of ['upper', 'work', 'merged']) mkdirSync(join(dir, d), { recursive: true });
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${image},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`, merged]);
  writeFileSync(join(merged, 'etc', 'hostname'), `${h.name}\n`);
  writeFileSync(join(merged, 'etc', 'hosts'), `127.0.0.1 localhost\n127.0.1.1 ${h.name}\n`);
  if (!readFileSync(join(merged, 'etc', 'machine-id'), 'utf8').trim()) writeFileSync(join(merged, 'etc', 'machine-id'), `${randomBytes(16).toString('hex')}\n`);
  if (!existsSync(join(merged, 'etc', 'ssh', 'ssh_host_ed25519_key'))) await run('ssh-keygen', ['-A', '-f', merged]);
  // In these containers the stop of user@.service (its own TimeoutStopSec=120s) waits out
  // the whole timeout on every shutdown, though the user manager has exited; a lab host
  // should reboot in seconds, as a VM would.
  mkdirSync(join(merged, 'etc', 'systemd', 'system', 'user@.service.d'), { recursive: true });
  writeFileSync(join(merged, 'etc', 'systemd', 'system', 'user@.service.d', 'senex-lab.conf'), '[Service]\nTimeoutStopSec=5s\n');
  return merged;
}

async function boot(h: LabHost, merged: string): Promise<void> {
  const logFile = openSync(join(hostDir(h.name), 'console.log'), 'w');
  const child = spawn('systemd-nspawn', ['-D', merged, '--boot', '--register=no', '--keep-unit', '-M', h.name, `--network-namespace-path=/run/netns/${netns(h.name)}`, '--console=passive'], {
    detached: true,
    stdio: ['ignore', logFile, logFile],
    env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: process.env.SYSTEMD_NSPAWN_UNIFIED_HIERARCHY ?? '1' },
  });
  child.unref();
  closeSync(logFile);
  h.nspawnPid = child.pid;
  h.initPid = await findInit(h);
}

/**
 * The guest's init: the child of nspawn that is PID 1 of its own PID namespace. nspawn
 * forks short-lived helpers too (its "outer child" exits once init runs), so the first child
 * seen is not always init; a helper's PID, once gone, would make every later nsenter fail.
 */
async function findInit(h: LabHost): Promise<number> {
  for (let i = 0; i < 400; i++) {
    const kids = (await run('ps', ['-o', 'pid=', '--ppid', String(h.nspawnPid)], { allowFail: true })).trim().split(/\s+/).filter(Boolean);
    for (const pid of kids) {
      try {
        if (/^NSpid:\s+\d+\s+1$/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) return Number(pid);
      } catch {
        /* a helper that just exited */
      }
    }
    if (!alive(h.nspawnPid)) break;
    await sleep(50);
  }
  throw new Error(`${h.name}: systemd-nspawn started no init within 20 s (see ${join(hostDir(h.name), 'console.log')})`);
}

async function tcpOpen(address: string, port: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const s = new Socket();
    s.setTimeout(1000);
    s.once('connect', () => (s.destroy(), resolveOpen(true)));
    s.once('error', () => resolveOpen(false));
    s.once('timeout', () => (s.destroy(), resolveOpen(false)));
    s.connect(port, address);
  });
}

function transportTo(h: LabHost, user = 'root'): SshTransport {
  const vars = { ansible_host: h.address, ansible_user: user, ansible_ssh_private_key_file: LAB_KEY, ansible_ssh_common_args: `-o UserKnownHostsFile=${LAB_KNOWN_HOSTS}` };
  const spec = { host: h.name, connection: 'ssh', address: h.address, port: 22, user, vars };
  return new SshTransport(resolveSshOptions(spec, { agentSocket: null, warn: () => {}, hostKeyPolicy: 'strict', configFiles: [] }));
}

/** Waits until the host answers SSH and systemd says `running`; says which units failed otherwise. */
async function waitReady(h: LabHost, timeoutMs = 90_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (!(await tcpOpen(h.address, 22))) {
    if (Date.now() > until) throw new Error(`${h.name}: sshd did not answer on ${h.address}:22 within ${timeoutMs / 1000} s (see ${join(hostDir(h.name), 'console.log')})`);
    if (!alive(h.nspawnPid)) throw new Error(`${h.name}: systemd-nspawn exited (see ${join(hostDir(h.name), 'console.log')})`);
    await sleep(200);
  }
  const t = transportTo(h);
  try {
    await t.connect();
    const r = await t.exec({ script: `timeout ${Math.ceil((until - Date.now()) / 1000)} systemctl is-system-running --wait; systemctl --failed --no-legend --plain | cut -d' ' -f1` });
    const [state = '', ...failed] = r.stdout.toString().trim().split('\n');
    return state === 'running' ? 'running' : `${state}${failed.length ? ` (failed: ${failed.join(', ')})` : ''}`;
  } finally {
    await t.close();
  }
}

function knownHostsLine(h: LabHost): string {
  const pub = readFileSync(join(hostDir(h.name), 'merged', 'etc', 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8').trim().split(' ');
  return `${h.address} ${pub[0]} ${pub[1]}`;
}

/**
 * Lab secrets (never the production ones): random values, vaulted with a random lab password
 * kept outside the repository. Written once; later ups keep them so runs stay idempotent.
 */
function writeLabVault(): void {
  // Kept while the password still opens it (another clone of the repository may have
  // written a new password into the shared state directory).
  if (existsSync(LAB_VAULT) && existsSync(LAB_VAULT_PASSWORD_FILE)) {
    const password = readFileSync(LAB_VAULT_PASSWORD_FILE, 'utf8').trim();
    try {
      decryptVault(readFileSync(LAB_VAULT, 'utf8'), [{ label: 'default', password, source: LAB_VAULT_PASSWORD_FILE }]);
      return;
    } catch {
      log('the lab vault does not open with the lab password: writing new lab secrets');
    }
  }
  mkdirSync(dirname(LAB_VAULT), { recursive: true });
  const password = randomBytes(24).toString('base64url');
  writeFileSync(LAB_VAULT_PASSWORD_FILE, `${password}\n`, { mode: 0o600 });
  const value = () => randomBytes(18).toString('base64url');
  const vars = [
    '# Lab secrets, generated by `npm run lab -- up`; not committed.',
    `vault_grafana_admin_password: "lab-${value()}"`,
    // The lab has no route out: alerts go to a black-hole address on the lab network.
    `vault_alertmanager_slack_api_url: "http://198.18.0.1:9/slack/lab-${value()}"`,
    `vault_healthchecks_ping_url: "http://198.18.0.1:9/ping/lab-${value()}"`,
    `vault_postfix_relay_password: "lab-${value()}"`,
    '',
  ].join('\n');
  writeFileSync(LAB_VAULT, encryptVault(vars, { label: 'default', password }), { mode: 0o600 });
}

function writeInventory(hosts: LabHost[]): void {
  writeLabVault();
  mkdirSync(dirname(INVENTORY), { recursive: true });
  const lines = hosts.map((h) => `        ${h.name}: {ansible_host: ${h.address}}`).join('\n');
  writeFileSync(
    INVENTORY,
    `# Written by \`npm run lab -- up\`; rewritten on every up. Not committed.
all:
  children:
    # site.yml targets group senex; the lab's hosts are in it.
    senex:
      children:
        lab:
    lab:
      hosts:
${lines}
      vars:
        ansible_user: deploy
        ansible_become: true
        ansible_ssh_private_key_file: ${LAB_KEY}
        ansible_ssh_common_args: "-o UserKnownHostsFile=${LAB_KNOWN_HOSTS} -o StrictHostKeyChecking=yes"
`,
  );
}

/** Boots hosts lab1..labN (those already running are kept, unless `fresh`): idempotent. */
export async function up(count: number, opts: { fresh?: boolean } = {}): Promise<LabHost[]> {
  return withLock(async () => {
    await ensurePrereqs();
    await ensureInotify(count);
    const image = await ensureImage();
    const previous = new Map(readState().map((h) => [h.name, h]));
    const hosts: LabHost[] = [];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const index = i + 1;
        const name = `lab${index}`;
        const prev = previous.get(name);
        if (!opts.fresh && prev && alive(prev.nspawnPid) && (await tcpOpen(prev.address, 22))) {
          hosts[i] = prev;
          return;
        }
        // A fresh root does not need a clean shutdown of the old one.
        if (prev) await stopHost(prev, { fast: opts.fresh === true });
        const h: LabHost = { name, index, address: addressOf(index) };
        await setUpNetwork(h);
        const merged = await prepareRoot(h, image);
        await boot(h, merged);
        hosts[i] = h;
      }),
    );
    // Hosts beyond N from an earlier, larger lab are stopped.
    await Promise.all([...previous].filter(([name]) => !hosts.some((x) => x.name === name)).map(([, h]) => stopHost(h)));
    writeState(hosts);
    writeFileSync(LAB_KNOWN_HOSTS, hosts.map(knownHostsLine).join('\n') + '\n');
    const states = await Promise.all(hosts.map((h) => waitReady(h)));
    writeInventory(hosts);
    hosts.forEach((h, i) => log(`${h.name} ${h.address} ${states[i]}`));
    log(`${hosts.length} hosts up in ${((Date.now() - started) / 1000).toFixed(1)} s; inventory: ${INVENTORY}`);
    return hosts;
  });
}

/**
 * Reboots one host as `systemctl reboot` would on a machine: the guest shuts down, and the
 * same root (overlay, host keys, everything written to disk) boots again; /run and memory
 * do not survive. nspawn exits on a guest reboot, so the lab starts it again.
 */
export async function reboot(name: string): Promise<LabHost> {
  return withLock(async () => {
    const hosts = readState();
    const h = hosts.find((x) => x.name === name);
    if (!h || !alive(h.nspawnPid)) throw new Error(`${name} is not running: npm run lab -- up`);
    await run('nsenter', ['-t', String(h.initPid), '-a', 'systemctl', 'reboot'], { allowFail: true });
    for (let i = 0; i < 300 && alive(h.nspawnPid); i++) await sleep(100);
    // A shutdown that hangs ends as a machine's would: reset (the disk keeps what was synced).
    if (alive(h.nspawnPid)) {
      log(`${name} did not shut down within 30 s: resetting it`);
      await killGuest(h);
    }
    delete h.initPid;
    await boot(h, join(hostDir(name), 'merged'));
    writeState(hosts);
    const state = await waitReady(h);
    log(`${name} rebooted: ${state}`);
    return h;
  });
}

/** Stops one host: the guest shuts down cleanly (SIGTERM to nspawn), then its root and network go. */
async function stopHost(h: LabHost, opts: { fast?: boolean } = {}): Promise<void> {
  if (alive(h.nspawnPid)) {
    process.kill(h.nspawnPid!, opts.fast ? 'SIGKILL' : 'SIGTERM');
    for (let i = 0; i < 200 && alive(h.nspawnPid); i++) await sleep(100);
    if (alive(h.nspawnPid)) process.kill(h.nspawnPid!, 'SIGKILL');
  }
  await cleanUp(h.name, h.index);
}

/** Kills nspawn and every process of the guest, as pulling the plug would. */
async function killGuest(h: { name: string; nspawnPid?: number | undefined }): Promise<void> {
  const upper = join(hostDir(h.name), 'upper');
  for (const pid of [...(h.nspawnPid && alive(h.nspawnPid) ? [h.nspawnPid] : []), ...guestProcesses(upper)]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (let i = 0; i < 50 && (guestProcesses(upper).length || alive(h.nspawnPid)); i++) await sleep(100);
}

/** Removes whatever is left of a host, even after a crash: processes, mounts, namespace, link. */
async function cleanUp(name: string, index: number): Promise<void> {
  const merged = join(hostDir(name), 'merged');
  await killGuest({ name });
  for (const m of mountsBelow(merged)) await run('umount', ['-l', m], { allowFail: true });
  await run('ip', ['netns', 'del', netns(name)], { allowFail: true });
  await run('ip', ['link', 'del', vethHost(index)], { allowFail: true });
  rmSync(hostDir(name), { recursive: true, force: true });
}

/** Stops every lab host, including ones a crashed run left behind without state. */
export async function down(): Promise<void> {
  await withLock(async () => {
    const known = readState();
    await Promise.all(known.map((h) => stopHost(h)));
    // Leftovers that no state file remembers: namespaces, links and host directories.
    const namespaces = (await run('ip', ['netns', 'list'], { allowFail: true })).split('\n').map((l) => l.split(' ')[0]!).filter((n) => /^senex-lab\d+$/.test(n));
    const dirs = existsSync(join(STATE, 'hosts')) ? (await run('ls', [join(STATE, 'hosts')], { allowFail: true })).split('\n').filter(Boolean) : [];
    for (const name of new Set([...namespaces.map((n) => n.replace(/^senex-/, '')), ...dirs])) await cleanUp(name, Number(name.replace(/^lab/, '')));
    const links = (await run('ip', ['-o', 'link'], { allowFail: true })).split('\n').map((l) => /^\d+: (sxlab\d+)[@:]/.exec(l)?.[1]).filter((l): l is string => !!l);
    for (const l of links) await run('ip', ['link', 'del', l], { allowFail: true });
    writeState([]);
    if (existsSync(INVENTORY)) unlinkSync(INVENTORY);
    log('lab is down');
  });
}

/** Memory the guest's processes use (proportional set size), in MiB. */
function guestMemoryMiB(h: LabHost): number {
  let kb = 0;
  for (const pid of guestProcesses(join(hostDir(h.name), 'upper'))) {
    try {
      kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* exited meanwhile */
    }
  }
  return kb / 1024;
}

export async function status(): Promise<void> {
  const hosts = readState();
  if (hosts.length === 0) return log('no lab hosts');
  for (const h of hosts) {
    const state = alive(h.nspawnPid) ? ((await tcpOpen(h.address, 22)) ? 'up' : 'booting') : 'down';
    log(`${h.name} ${h.address} ${state} (nspawn pid ${h.nspawnPid ?? '-'}, ${guestMemoryMiB(h).toFixed(0)} MiB)`);
  }
}

/** N of `up N` / `reset N`: a whole number of hosts, 3 when not given. */
function hostCount(cmd: string, arg: string | undefined): number {
  if (arg === undefined) return 3;
  if (/^[1-9]\d{0,2}$/.test(arg)) return Number(arg);
  throw new Error(`'${cmd} ${arg}': N is how many hosts (lab1..labN), a number from 1 to 999; e.g. 'npm run lab -- ${cmd} 3'`);
}

async function main(argv: string[]): Promise<void> {
  const [cmd = 'status', arg] = argv;
  if (process.getuid?.() !== 0) throw new Error('the lab needs root (network namespaces, overlay mounts, systemd-nspawn)');
  if (cmd === 'up') await up(hostCount(cmd, arg));
  else if (cmd === 'reset') await up(hostCount(cmd, arg), { fresh: true });
  else if (cmd === 'down') await down();
  else if (cmd === 'status') await status();
  else if (cmd === 'reboot' && arg) await reboot(arg);
  else throw new Error(`unknown lab command '${cmd}': use up [N], reset [N], reboot HOST, down or status`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: Error) => {
    log(`error: ${e.message}`);
    process.exitCode = 1;
  });
}
