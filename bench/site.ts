/**
 * site.yml on lab hosts, under senex-play and under ansible-playbook (Debian's ansible with
 * pipelining, forks = hosts, its default ControlPersist), alternating the two: per case the
 * first run on fresh hosts (every host reset to the base image before it) and the no-op
 * re-run. Reports medians, min-max, the ratio Ansible/senex-play, the controller's peak RSS
 * (GNU time's %M: the largest process of the run) and senex-play's round trips per host, and
 * writes the table to docs/benchmarks.md.
 *
 * Usage: npm run bench [-- SIZES [RUNS]]   e.g. npm run bench -- 1,10,30 3   (defaults: 1,10 3)
 *        npm run bench -- 1:3,10:1           runs per size
 *        npm run bench -- 10:2:noop          only the no-op re-run: the hosts are converged
 *                                            once by senex-play (not timed), then both tools'
 *                                            no-op runs alternate; the first-run samples of
 *                                            that size are kept from the last full measurement
 *        npm run bench -- 30:3:noop:senex    the same, senex-play only (where an Ansible run
 *                                            takes too long to repeat); the table says so
 *        npm run bench -- 30:3:floor         only the floor (bench/floor.yml and bare logins),
 *                                            on the lab hosts as they are; the other samples
 *                                            of that size are kept
 *        node dist/bench/site.js --import-log FILE   samples from an earlier run's log lines
 * Samples are kept per size in docs/benchmarks.json; the table shows every size measured.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addressOf, LAB_KEY, LAB_KNOWN_HOSTS, LAB_VAULT_PASSWORD_FILE, up } from '../lab/lab.js';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const importLog = process.argv[2] === '--import-log' ? process.argv[3] : undefined;
const DEFAULT_RUNS = Number(process.argv[3] ?? 3);
const plan = importLog ? [] : (process.argv[2] ?? '1,10').split(',').map((s) => {
  const [size, runs, ...flags] = s.split(':');
  return { size: Number(size), runs: Number(runs ?? DEFAULT_RUNS), noopOnly: flags.includes('noop'), floorOnly: flags.includes('floor'), senexOnly: flags.includes('senex') };
});
const RESULTS = join(REPO, 'docs', 'benchmarks.json');
const BIN = join(REPO, 'bin', 'senex-play.js');

interface Sample {
  wallS: number;
  rssMb: number;
  code: number;
  roundTrips?: number;
  /** User + system CPU seconds of the tool and the children it waited for (ssh for Ansible). */
  cpuS?: number;
}

type Tool = 'senex-play' | 'ansible-playbook';
/** first and noop run site.yml; floor runs bench/floor.yml (login, become, one command). */
type Kind = 'first' | 'noop' | 'floor';

function timed(cmd: string, args: string[], env: Record<string, string>): Promise<Sample & { out: string }> {
  return new Promise((done) => {
    // GNU time: %e wall seconds, %M peak RSS in KiB of the largest process it waited for,
    // %U and %S its CPU seconds with its children's.
    const child = spawn('/usr/bin/time', ['-f', 'BENCH %e %M %U %S', cmd, ...args], { cwd: REPO, env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const m = /BENCH ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(out);
      done({ wallS: Number(m?.[1] ?? NaN), rssMb: Number(m?.[2] ?? NaN) / 1024, cpuS: Number(m?.[3] ?? NaN) + Number(m?.[4] ?? NaN), code: code ?? -1, out });
    });
  });
}

const FLOOR = join('bench', 'floor.yml');

async function runTool(tool: Tool, hosts: number, playbook = 'site.yml'): Promise<Sample> {
  const limit = Array.from({ length: hosts }, (_, i) => `lab${i + 1}`).join(':');
  if (tool === 'senex-play') {
    const json = '/tmp/senex-bench.json';
    const s = await timed(process.execPath, [BIN, playbook, '-i', 'lab', '--limit', limit, '--forks', String(Math.max(hosts, 1)), '--json', json], {
      ANSIBLE_VAULT_PASSWORD_FILE: LAB_VAULT_PASSWORD_FILE,
      SSH_AUTH_SOCK: '',
      CI: '1',
    });
    const stats = (JSON.parse(readFileSync(json, 'utf8')) as { transport?: Record<string, { roundTrips: number }> }).transport ?? {};
    const trips = Object.values(stats).map((t) => t.roundTrips);
    if (s.code !== 0) process.stderr.write(s.out.slice(-3000));
    return { ...s, roundTrips: trips.length ? Math.max(...trips) : undefined };
  }
  const s = await timed('ansible-playbook', ['-i', 'inventory/lab', playbook === 'site.yml' ? 'playbooks/site.yml' : playbook, '--limit', limit, '--forks', String(hosts), '--vault-password-file', LAB_VAULT_PASSWORD_FILE], {
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_ROLES_PATH: join(REPO, 'roles'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_HOST_KEY_CHECKING: 'True',
    SSH_AUTH_SOCK: '',
  });
  if (s.code !== 0) process.stderr.write(s.out.slice(-3000));
  return s;
}

/** The tools of run r, alternating which goes first so neither always meets a warmer machine. */
const toolsOf = (r: number, senexOnly = false): Tool[] =>
  senexOnly ? ['senex-play'] : r % 2 === 0 ? ['senex-play', 'ansible-playbook'] : ['ansible-playbook', 'senex-play'];

/** Logs a sample (in the form fromLog reads back) and keeps it; a failed run counts as n/a. */
function record(samples: Samples, n: number, tool: Tool, kind: Kind, run: string, s: Sample): void {
  process.stderr.write(`bench: ${n} hosts, ${tool}, ${kind} run ${run}: ${describe(s)}\n`);
  samples[tool][kind].push(s.code === 0 ? s : { ...s, wallS: NaN });
}

/**
 * What the hosts' SSH logins cost with no runner at all: OpenSSH's client, one login per host
 * running `sudo -n true`, all hosts at once (as both tools run with forks = hosts).
 */
function bareLogins(hosts: number): Promise<Sample & { out: string }> {
  const ssh = `ssh -o BatchMode=yes -o ControlMaster=no -o ControlPath=none -i ${LAB_KEY} -o UserKnownHostsFile=${LAB_KNOWN_HOSTS} -o StrictHostKeyChecking=yes`;
  const addresses = Array.from({ length: hosts }, (_, i) => addressOf(i + 1)).join(' ');
  return timed('sh', ['-c', `pids=; for a in ${addresses}; do ${ssh} deploy@$a sudo -n true & pids="$pids $!"; done; fail=0; for p in $pids; do wait $p || fail=1; done; exit $fail`], {});
}

/**
 * The floor of a run on these hosts: bench/floor.yml under both tools, alternating, and the
 * bare OpenSSH logins. Run after a size's other cases, on the hosts as they are (a login
 * does not care whether they are converged). At least 3 runs: each takes seconds.
 */
async function measureFloor(n: number, runs: number, senexOnly: boolean, samples: Samples): Promise<Sample[]> {
  const logins: Sample[] = [];
  const count = Math.max(runs, 3);
  for (let r = 0; r < count; r++) {
    for (const tool of toolsOf(r, senexOnly)) record(samples, n, tool, 'floor', `${r + 1}/${count}`, await runTool(tool, n, FLOOR));
    const s = await bareLogins(n);
    if (s.code !== 0) process.stderr.write(s.out.slice(-3000));
    process.stderr.write(`bench: ${n} hosts, openssh logins run ${r + 1}/${count}: ${describe(s)}\n`);
    logins.push(s.code === 0 ? s : { ...s, wallS: NaN });
  }
  return logins;
}

/** A sample as the log line says it (and fromLog reads it back). */
const describe = (s: Sample) => `${s.wallS} s, exit ${s.code}, ${s.rssMb.toFixed(0)} MB${s.cpuS !== undefined ? `, ${s.cpuS.toFixed(2)} s CPU` : ''}${s.roundTrips ? `, ${s.roundTrips} round trips/host` : ''}`;

/** Controller CPU seconds, for the samples that recorded it (older ones did not). */
const cpu = (samples: Sample[]) => {
  const xs = samples.map((s) => s.cpuS).filter((x): x is number => x !== undefined && !Number.isNaN(x));
  return xs.length ? median(xs).toFixed(1) : 'n/a';
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) => (xs.length === 0 ? 'not run' : xs.some((x) => Number.isNaN(x)) ? 'n/a' : `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`);

type Samples = Record<Tool, Record<Kind, Sample[]>>;
interface Case {
  runs: number;
  date: string;
  samples: Samples;
  /** bareLogins' samples (cases measured before the floor existed have none). */
  logins?: Sample[];
}
interface Results {
  cases: Record<string, Case>;
}

function loadResults(): Results {
  try {
    return JSON.parse(readFileSync(RESULTS, 'utf8')) as Results;
  } catch {
    return { cases: {} };
  }
}

const emptySamples = (): Samples => ({ 'senex-play': { first: [], noop: [], floor: [] }, 'ansible-playbook': { first: [], noop: [], floor: [] } });
const KIND_LABEL: Record<Kind, string> = { first: 'first run (fresh hosts)', noop: 'no-op re-run', floor: 'floor (bench/floor.yml)' };

/** Lines `bench: N hosts, TOOL, KIND run i/R: X s, exit C, M MB[, U s CPU][, T round trips/host]` of an earlier run. */
function fromLog(file: string): Results['cases'] {
  const cases: Results['cases'] = {};
  for (const m of readFileSync(file, 'utf8').matchAll(/^bench: (\d+) hosts, ([\w-]+), (first|noop|floor) run \d+\/(\d+): ([\d.]+) s, exit (-?\d+), (\d+) MB(?:, ([\d.]+) s CPU)?(?:, (\d+) round trips\/host)?$/gm)) {
    const c = (cases[m[1]!] ??= { runs: Number(m[4]), date: new Date().toISOString().slice(0, 10), samples: emptySamples() });
    const code = Number(m[6]);
    c.samples[m[2] as Tool][m[3] as Kind].push({ wallS: code === 0 ? Number(m[5]) : NaN, rssMb: Number(m[7]), code, ...(m[8] ? { cpuS: Number(m[8]) } : {}), ...(m[9] ? { roundTrips: Number(m[9]) } : {}) });
  }
  return cases;
}

function render(results: Results): string {
  const rows: string[] = [];
  for (const [n, c] of Object.entries(results.cases).sort((a, b) => Number(a[0]) - Number(b[0]))) {
    for (const kind of ['first', 'noop', 'floor'] as Kind[]) {
      const sp = c.samples['senex-play'][kind] ?? [];
      const an = c.samples['ansible-playbook'][kind] ?? [];
      if (kind === 'floor' && sp.length + an.length === 0) continue;
      const ratio = median(an.map((s) => s.wallS)) / median(sp.map((s) => s.wallS));
      const trips = sp.map((s) => s.roundTrips).filter((t): t is number => t !== undefined);
      rows.push(
        `| ${n} | ${KIND_LABEL[kind]} | ${sp.length}/${an.length} | ${fmt(sp.map((s) => s.wallS))} | ${fmt(an.map((s) => s.wallS))} | ${an.length === 0 || sp.length === 0 ? 'n/a' : Number.isNaN(ratio) ? 'n/a (a run failed)' : `${ratio.toFixed(1)}x`} | ${fmt(sp.map((s) => s.rssMb))} | ${fmt(an.map((s) => s.rssMb))} | ${cpu(sp)} | ${cpu(an)} | ${trips.length ? median(trips) : 'n/a'} |`,
      );
    }
  }
  const logins = Object.entries(results.cases)
    .filter(([, c]) => c.logins?.length)
    .map(([n, c]) => `| ${n} | ${c.logins!.length} | ${fmt(c.logins!.map((s) => s.wallS))} |`);
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${execFileSync('sh', ['-c', '. /etc/os-release; echo $PRETTY_NAME']).toString().trim()}, Node ${process.version}, ${execFileSync('ansible-playbook', ['--version']).toString().split('\n')[0]}`;
  return `# Benchmarks

Measured with \`npm run bench\` (bench/site.ts) on ${machine}.

playbooks/site.yml (every phase) against lab hosts (Debian 13 under systemd-nspawn, on this
machine), connecting as \`deploy\` with become. ansible-playbook: Debian's ansible (with the
containers.podman collection), pipelining on, forks = hosts, default ControlPersist. The tools
alternate; before each tool's first run the hosts are reset to the base image, and the no-op
re-run follows it. Times in seconds, median (min-max) over the runs counted in column
"runs" (senex-play/ansible); RSS in MB is GNU time's peak of the largest controller process.
Controller CPU: user + system seconds of the tool's process and the children it waited for
(Ansible's forks and ssh clients), median; the hosts' own CPU is not in it. Round trips per
host: senex-play's own count (--json), the most of any host.

The floor rows run bench/floor.yml (no facts, become, one \`/bin/true\`): an SSH login, sudo
and one command per host, which any run pays before it probes anything. The second table is
the same logins with no runner at all: OpenSSH's client, one \`ssh deploy@HOST sudo -n true\`
per host, all hosts at once. A no-op run cannot be faster than these on this machine.

| hosts | case | runs | senex-play s | ansible-playbook s | ratio | senex-play RSS MB | ansible RSS MB | senex-play CPU s | ansible CPU s | round trips/host |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
${logins.length ? `\n| hosts | runs | OpenSSH logins alone s |\n|---|---|---|\n${logins.join('\n')}\n` : ''}
Reproduce: \`bash .ci/run\` once (installs and builds everything, including Debian's ansible),
then \`npm run bench -- 1:3,10:3,30:3\` (SIZE:RUNS; the samples accumulate in
docs/benchmarks.json, the newest measurement of a size replacing the older).
`;
}

/** The table is rewritten; the hand-written "## Notes" at the end of the file are kept. */
function writeBenchmarksMd(results: Parameters<typeof render>[0]): void {
  const file = join(REPO, 'docs', 'benchmarks.md');
  let notes = '';
  try {
    const old = readFileSync(file, 'utf8');
    const at = old.indexOf('\n## Notes');
    if (at >= 0) notes = old.slice(at);
  } catch {
    /* first measurement */
  }
  writeFileSync(file, render(results).replace(/\n+$/, '\n') + notes);
}

/** Samples to docs/benchmarks.json, the table to docs/benchmarks.md. */
function save(results: Results): void {
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  writeBenchmarksMd(results);
}

async function main(): Promise<void> {
  const results = loadResults();
  if (importLog) Object.assign(results.cases, fromLog(importLog));
  for (const { size: n, runs, noopOnly, floorOnly, senexOnly } of plan) {
    const samples = emptySamples();
    if (floorOnly) {
      await up(n);
      const previous = results.cases[String(n)];
      const logins = await measureFloor(n, runs, senexOnly, samples);
      for (const tool of ['senex-play', 'ansible-playbook'] as Tool[]) {
        samples[tool].first = previous?.samples[tool].first ?? [];
        samples[tool].noop = previous?.samples[tool].noop ?? [];
      }
      results.cases[String(n)] = { runs: previous?.runs ?? runs, date: previous?.date ?? new Date().toISOString().slice(0, 10), samples, logins };
      save(results);
      continue;
    }
    if (noopOnly) {
      await up(n, { fresh: true });
      const converge = await runTool('senex-play', n);
      process.stderr.write(`bench: ${n} hosts converged by senex-play (its first run on fresh hosts: ${converge.wallS} s, exit ${converge.code}, ${converge.rssMb.toFixed(0)} MB)\n`);
      for (let r = 0; r < runs; r++) {
        for (const tool of toolsOf(r, senexOnly)) record(samples, n, tool, 'noop', `${r + 1}/${runs}`, await runTool(tool, n));
      }
      const previous = results.cases[String(n)]?.samples;
      if (previous) for (const tool of ['senex-play', 'ansible-playbook'] as Tool[]) samples[tool].first = previous[tool].first;
      // Without an earlier measurement of this size, the converging run (on fresh hosts) is senex-play's first-run sample.
      if (!previous) samples['senex-play'].first.push(converge.code === 0 ? converge : { ...converge, wallS: NaN });
      const logins = await measureFloor(n, runs, senexOnly, samples);
      results.cases[String(n)] = { runs, date: new Date().toISOString().slice(0, 10), samples, logins };
      save(results);
      continue;
    }
    for (let r = 0; r < runs; r++) {
      for (const tool of toolsOf(r)) {
        await up(n, { fresh: true });
        for (const kind of ['first', 'noop'] as Kind[]) record(samples, n, tool, kind, `${r + 1}/${runs}`, await runTool(tool, n));
      }
    }
    const logins = await measureFloor(n, runs, senexOnly, samples);
    results.cases[String(n)] = { runs, date: new Date().toISOString().slice(0, 10), samples, logins };
    // Written after every size, so a long benchmark cut short keeps what it measured.
    save(results);
  }
  if (importLog) {
    save(results);
  }
  process.stdout.write(render(results));
}

await main();
