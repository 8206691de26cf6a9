/**
 * Start-up: how long senex-play takes before it does anything on a host. Runs `node -e 0`
 * (the floor: Node alone), `--version`, `--help` and `--syntax-check` of site.yml (offline,
 * against inventory/prod), alternating the cases round by round so load on the machine
 * spreads over all of them, and prints per case the min and median wall time and the
 * median CPU time (user + system, GNU time's %U + %S). Nothing here needs the lab.
 *
 * Usage: npm run bench:startup [-- RUNS]   (default 20; after `npm run build`, which also
 *        precompiles the schemas: a build by tsc alone measures the slower fallback)
 * On a loaded machine the wall times are noisy: compare the CPU column and the floor row.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const BIN = join(REPO, 'bin', 'senex-play.js');
const RUNS = Number(process.argv[2] ?? 20);
const WARMUP = 2;

const cases: Array<{ name: string; args: string[] }> = [
  { name: '`node -e 0` (floor)', args: ['-e', '0'] },
  { name: '`senex-play --version`', args: [BIN, '--version'] },
  { name: '`senex-play --help`', args: [BIN, '--help'] },
  { name: '`senex-play site.yml -i inventory/prod --syntax-check`', args: [BIN, 'site.yml', '-i', 'inventory/prod', '--syntax-check'] },
];

interface Sample {
  wallMs: number;
  cpuMs: number;
}

function once(args: string[]): Sample {
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'STARTUP %U %S', process.execPath, ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  const wallMs = performance.now() - started;
  const m = /STARTUP (\S+) (\S+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${args.join(' ')} failed (exit ${r.status}): ${r.stderr}`);
  return { wallMs, cpuMs: (Number(m[1]) + Number(m[2])) * 1000 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const samples = cases.map(() => [] as Sample[]);
for (let round = 0; round < WARMUP + RUNS; round++) {
  cases.forEach((c, i) => {
    const s = once(c.args);
    if (round >= WARMUP) samples[i]!.push(s);
  });
}

const [load] = (await import('node:os')).loadavg();
console.log(`Start-up, ${RUNS} runs each (alternating, ${WARMUP} warm-up rounds), load average ${load!.toFixed(1)}, Node ${process.version}\n`);
console.log('| command | wall min ms | wall median ms | CPU median ms (user+sys) |');
console.log('|---|---|---|---|');
cases.forEach((c, i) => {
  const s = samples[i]!;
  const wall = s.map((x) => x.wallMs);
  console.log(`| ${c.name} | ${Math.min(...wall).toFixed(0)} | ${median(wall).toFixed(0)} | ${median(s.map((x) => x.cpuMs)).toFixed(0)} |`);
});
