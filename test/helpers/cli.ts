import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BIN } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built senex-play binary as a user would (no TTY, no colour). */
export function runCli(args: string[], opts: { cwd: string; env?: Record<string, string>; input?: string }): Promise<CliResult> {
  return runProcess(process.execPath, [BIN, ...args], { ...opts, env: { NO_COLOR: '1', CI: '1', ...opts.env } });
}

/** Runs a program to completion, collecting its output. */
export function runProcess(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string>; input?: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    // A program that exits without reading its stdin (`command -v`) closes the pipe: EPIPE
    // here is its business, and the exit code says how it went.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** The recap line of one host, parsed. */
export function recap(stdout: string, host: string): Record<string, number> {
  const line = stdout.split('\n').find((l) => l.startsWith(`${host} `) && l.includes(' ok='));
  if (!line) throw new Error(`no recap line for ${host} in:\n${stdout}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

/** A senex-play run in progress: the test can wait for a line, then act on the hosts or the process. */
export interface LiveRun {
  pid: number;
  /** Resolves when the output so far matches (stdout and stderr together). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  /** The finished run, with its wall time from start. */
  done: Promise<CliResult & { ms: number }>;
}

export function startCli(args: string[], opts: { cwd: string; env?: Record<string, string> }): LiveRun {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { ...process.env, NO_COLOR: '1', CI: '1', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const check = () => {
    for (const w of [...waiters]) if (w.pattern.test(stdout + stderr)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  child.stdout.on('data', (d) => ((stdout += d), check()));
  child.stderr.on('data', (d) => ((stderr += d), check()));
  const done = new Promise<CliResult & { ms: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ code: code ?? (sig === 'SIGKILL' ? 137 : -1), stdout, stderr, ms: Date.now() - started }));
  });
  return {
    pid: child.pid!,
    signal: (sig) => void child.kill(sig),
    done,
    waitFor: (pattern, timeoutMs = 120_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in the output within ${timeoutMs / 1000} s:\n${stdout}${stderr}`)), timeoutMs);
        waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
        void done.then(() => setTimeout(() => reject(new Error(`the run ended without ${pattern}:\n${stdout}${stderr}`)), 0));
        check();
      }),
  };
}

/**
 * Runs the built senex-play, sampling its peak resident memory (VmHWM in /proc, which only
 * grows) until it exits; also its wall time.
 */
export function runCliMeasured(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<CliResult & { peakRssMiB: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { ...process.env, NO_COLOR: '1', CI: '1', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakKiB = 0;
    const sample = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
      } catch {
        /* exited between two samples */
      }
    }, 20);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sample);
      resolve({ code: code ?? -1, stdout, stderr, peakRssMiB: peakKiB / 1024, ms: performance.now() - started });
    });
  });
}
