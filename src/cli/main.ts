import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, type Option } from 'commander';
// Only what parsing the command line needs loads up front, so --version and --help answer
// without the engine; the engine (src/index.ts) and the CLI's helpers load once a run is asked for.
import { ExitCode, formatError } from '../errors.js';
import { DEFAULT_FORKS, type RunOptions } from '../engine/options.js';
import type { Reporter } from '../output/events.js';
import type { SearchPaths } from '../load/ansible-config.js';
import { style, wantsColor } from '../output/style.js';
import { redact } from '../vault/redact.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function phases(value: string): number[] {
  const list = value.split(',').map((p) => p.trim());
  if (list.some((p) => !/^[1-9]\d*$/.test(p))) throw new InvalidArgumentError('expected phase numbers like 1 or 2,3');
  return list.map(Number);
}

function positiveInt(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('expected a whole number from 1');
  return Number(value);
}

const collect = (value: string, prev: string[]) => [...prev, value];
const commaList = (value: string, prev: string[]) => [...prev, ...value.split(',').map((t) => t.trim()).filter(Boolean)];

/**
 * An option's help line, with its default only where it tells something: a flag that is off
 * and a list that starts empty go without "(default: false)" and "(default: [])".
 */
function describeOption(option: Option): string {
  const value = option.defaultValue;
  const silent = value === undefined || value === false || (Array.isArray(value) && value.length === 0);
  return silent ? option.description : `${option.description} (default: ${option.defaultValueDescription ?? JSON.stringify(value)})`;
}

function program(out: (s: string) => void, err: (s: string) => void): Command {
  return new Command('senex-play')
    .description('Converge hosts to the state a playbook describes, over SSH, idempotently.')
    .argument('<playbook...>', 'playbook file, or a name under playbooks/ (site.yml); several run in order as one run')
    .option('-i, --inventory <name>', 'inventory file, directory, name under inventory/, or host1,host2, (repeatable: read in order; default: inventory)', collect, [])
    .option('-C, --check', 'show what would change; change nothing', false)
    .option('-D, --diff', 'show a unified diff of every content change', false)
    .option('-l, --limit <pattern>', 'only hosts matching this pattern (web*, g1:g2, g1:&g2, g1:!h3)')
    .option('-t, --tags <tags>', 'only tasks with these tags (comma-separated, repeatable)', commaList, [])
    .option('--skip-tags <tags>', 'skip tasks with these tags', commaList, [])
    .option('--phase <n[,n]>', 'only roles of these phases (declared in meta/main.yml) and their dependencies', phases)
    .option('-e, --extra-vars <vars>', 'k=v, @file.yml or {json}; highest precedence (repeatable)', collect, [])
    .option('-f, --forks <n>', 'hosts worked on at once', positiveInt, DEFAULT_FORKS)
    .option('-b, --become', 'become root (sudo) on the hosts', false)
    .option('--become-user <user>', 'user to become', undefined)
    .option('--become-method <method>', 'sudo or su', undefined)
    .option('-u, --user <user>', 'connect as this user')
    .option('-c, --connection <type>', 'connection type: ssh or local')
    .option('--private-key <file>', 'SSH private key to try first (alias --key-file)')
    .option('-k, --ask-pass', 'ask for the SSH password', false)
    .option('-K, --ask-become-pass', 'ask for the sudo password', false)
    .option('--host-key-checking <mode>', 'strict (default), accept-new (trust on first use) or off')
    .option('--vault-id <label@source>', 'vault password: source is a file, an executable or "prompt" (repeatable)', collect, [])
    .option('--vault-password-file <file>', 'file (or executable) holding the vault password (repeatable; alias --vault-pass-file)', collect, [])
    .option('-J, --ask-vault-pass', 'ask for the vault password (alias --ask-vault-password)', false)
    .option('--force-handlers', 'run notified handlers even on hosts that failed', false)
    .option('--flush-cache', 'accepted for ansible-playbook compatibility: senex-play keeps no fact cache between runs', false)
    .option('--json <file>', 'write the whole result as JSON to this file')
    .option('--report <file.html>', 'write the run as one self-contained HTML page: hosts x tasks, changes, diffs, timeline, recap')
    .option('--stats', 'after the recap, per host: round trips, channels, bytes sent and received, time connecting, probing, applying', false)
    .option('-v, --verbose', 'more output (-vv, -vvv for more)', (_v: string, prev: number) => prev + 1, 0)
    .option('--syntax-check', 'load and validate everything, run nothing', false)
    .option('--list-hosts', 'list the hosts each play would run on', false)
    .option('--list-tasks', 'list the tasks that would run', false)
    .option('--list-tags', 'list the tags of each play', false)
    .option('--start-at-task <name>', 'start at the first task with this name (glob)')
    .option('--detailed-exitcode', 'exit 8 when a successful run changed (or under --check would change) something', false)
    .version(VERSION, '--version')
    .showHelpAfterError('(run senex-play --help for usage)')
    .configureOutput({ writeOut: out, writeErr: err })
    .configureHelp({ optionDescription: describeOption })
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 error, 2 a host failed, 3 a host unreachable, 4 invalid playbook,
role or inventory, 5 bad options, 8 changes with --detailed-exitcode, 99 interrupted.

Examples:
  senex-play site.yml -i prod                    converge every host in inventory "prod"
  senex-play site.yml -i prod --check --diff     what would change, as unified diffs
  senex-play site.yml -i prod --phase 2          only the phase-2 roles`,
    )
    .exitOverride();
}

/** ansible-playbook's other names for options (commander takes one long name per option). */
const ALIASES: Record<string, string> = {
  '--inventory-file': '--inventory',
  '--key-file': '--private-key',
  '--vault-pass-file': '--vault-password-file',
  '--ask-vault-password': '--ask-vault-pass',
};

/** argv with the aliases replaced by the option they stand for (`--key-file=k` too). */
function withoutAliases(argv: string[]): string[] {
  return argv.map((a) => {
    if (a === '--') return a;
    const [flag, ...value] = a.split('=');
    const canonical = ALIASES[flag!];
    return canonical ? [canonical, ...value].join('=') : a;
  });
}

interface CliOptions {
  inventory: string[];
  forceHandlers: boolean;
  check: boolean;
  diff: boolean;
  limit?: string;
  tags: string[];
  skipTags: string[];
  phase?: number[];
  extraVars: string[];
  forks: number;
  become: boolean;
  becomeUser?: string;
  becomeMethod?: string;
  user?: string;
  connection?: string;
  privateKey?: string;
  askPass: boolean;
  askBecomePass: boolean;
  hostKeyChecking?: string;
  json?: string;
  report?: string;
  stats: boolean;
  verbose: number;
  syntaxCheck: boolean;
  listHosts: boolean;
  listTasks: boolean;
  listTags: boolean;
  startAtTask?: string;
  detailedExitcode: boolean;
  vaultId: string[];
  vaultPasswordFile: string[];
  askVaultPass: boolean;
}

async function toRunOptions(playbooks: string[], o: CliOptions, cwd: string, paths: SearchPaths): Promise<RunOptions> {
  const { OptionsError } = await import('../index.js');
  const { parseExtraVars } = await import('./extra-vars.js');
  if (o.becomeMethod !== undefined && o.becomeMethod !== 'sudo' && o.becomeMethod !== 'su') throw new OptionsError(`--become-method must be sudo or su, not '${o.becomeMethod}'`);
  const extraVars = Object.assign({}, ...o.extraVars.map((e) => parseExtraVars(e, cwd))) as Record<string, unknown>;
  return {
    rolesPath: paths.rolesPath,
    collectionsPath: paths.collectionsPath,
    playbook: playbooks[0]!,
    morePlaybooks: playbooks.slice(1),
    inventory: inventories(o),
    forceHandlers: o.forceHandlers,
    check: o.check,
    diff: o.diff,
    limit: o.limit,
    tags: o.tags,
    skipTags: o.skipTags,
    phases: o.phase,
    extraVars,
    forks: o.forks,
    become: o.become,
    becomeUser: o.becomeUser,
    becomeMethod: o.becomeMethod as 'sudo' | 'su' | undefined,
    remoteUser: o.user,
    connection: o.connection,
    jsonFile: o.json,
    verbosity: o.verbose,
    startAtTask: o.startAtTask,
    detailedExitcode: o.detailedExitcode,
    cwd,
  };
}

/** -i (and --inventory-file), in the order given; `inventory` (the project's) when neither is. */
function inventories(o: CliOptions): string[] {
  return o.inventory.length ? o.inventory : ['inventory'];
}

export interface CliIO {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The whole CLI: parses argv, runs, prints; returns the exit code. Never throws. */
export async function main(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }): Promise<number> {
  if (argv[0] === 'vault') return (await import('./vault.js')).vaultMain(argv.slice(1), io);
  // Every line a person or a log sees passes the secret mask (vault values, passwords, no_log).
  const out = (s: string) => void io.stdout.write(redact(s));
  const err = (s: string) => void io.stderr.write(redact(s));
  const color = wantsColor(io.stdout, io.env);
  const errStyle = style(wantsColor(io.stderr, io.env));
  try {
    const cmd = program(out, err);
    try {
      cmd.parse(withoutAliases(argv), { from: 'user' });
    } catch (e) {
      if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.ok : ExitCode.badOptions;
      throw e;
    }
    const opts = cmd.opts<CliOptions>();
    const [{ ansibleSearchPaths, connector, fanOut, htmlReporter, jsonReporter, loadRun, OptionsError, plainReporter, resolvePlaybook, runLoaded }, { listHosts, listTags, listTasks }, { askHidden, askOnce }, { loadVaultSecrets, setVaultSecrets }, { registerSecret }] = await Promise.all([
      import('../index.js'),
      import('./list.js'),
      import('./prompt.js'),
      import('../vault/keyring.js'),
      import('../vault/redact.js'),
    ]);
    // Vault passwords first: files are decrypted while loading, so a wrong one stops here.
    setVaultSecrets(await loadVaultSecrets({ vaultIds: opts.vaultId, vaultPasswordFiles: opts.vaultPasswordFile, askVaultPass: opts.askVaultPass }, io.env, askHidden, io.cwd));
    const paths = ansibleSearchPaths(io.env, io.cwd);
    if (paths.ignored) err(`[WARNING]: ${paths.ignored}\n`);
    const options = await toRunOptions(cmd.args, opts, io.cwd, paths);
    const interactive = io.stdout.isTTY === true && !io.env.CI;
    // The terminal-only packages load only for a terminal (together ~0.3 s of a run's start).
    const spinner = interactive ? (await import('ora')).default({ text: 'loading playbook, roles and inventory', stream: io.stderr }).start() : undefined;
    let loaded;
    try {
      loaded = loadRun(options);
      spinner?.stop();
    } catch (e) {
      spinner?.stop();
      throw e;
    }
    const o = cmd.opts<CliOptions>();
    const line = (s: string) => out(`${s}\n`);
    if (o.syntaxCheck) {
      for (const p of [options.playbook, ...(options.morePlaybooks ?? [])]) line(`\nplaybook: ${resolvePlaybook(p, options.cwd)}`);
      return ExitCode.ok;
    }
    if (o.listHosts || o.listTasks || o.listTags) {
      if (o.listHosts) listHosts(loaded, line);
      if (o.listTasks) listTasks(loaded, options, line);
      if (o.listTags) listTags(loaded, options, line);
      return ExitCode.ok;
    }
    const plainOpts = { write: out, style: style(color), verbosity: options.verbosity, diff: options.diff, check: options.check, stats: o.stats };
    const reporters: Reporter[] = [interactive ? (await import('../output/live.js')).liveReporter(plainOpts) : plainReporter(plainOpts)];
    if (options.jsonFile) reporters.push(jsonReporter(options.jsonFile));
    if (o.report) reporters.push(htmlReporter(o.report, io.cwd));
    const reporter = fanOut(reporters);
    const policy = o.hostKeyChecking;
    if (policy !== undefined && !['strict', 'accept-new', 'off'].includes(policy)) throw new OptionsError(`--host-key-checking must be strict, accept-new or off, not '${policy}'`);
    if (o.askBecomePass) options.becomePassword = await askHidden('BECOME password: ');
    registerSecret(options.becomePassword);
    const sshPassword = o.askPass ? await askHidden('SSH password: ') : undefined;
    registerSecret(sshPassword);
    const connect = connector({
      hostKeyPolicy: policy as 'strict' | undefined,
      privateKey: o.privateKey,
      password: sshPassword,
      passphrase: askOnce('Passphrase for SSH keys: ', io.env.SENEX_SSH_PASSPHRASE),
      warn: (message) => reporter.handle({ kind: 'warning', message }),
    });
    const abort = new AbortController();
    const onSigint = () => {
      if (abort.signal.aborted) process.exit(ExitCode.interrupted);
      err(errStyle.yellow('\ninterrupted: finishing the tasks in flight and the handlers already notified, then closing every connection (Ctrl-C again to quit now)\n'));
      abort.abort();
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    try {
      const summary = await runLoaded(loaded, options, reporter, abort.signal, connect);
      return summary.exitCode;
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
      await reporter.close();
    }
  } catch (e) {
    err(`${formatError(e).replace(/^(.*?)error: /, (m) => errStyle.red(m))}\n`);
    if (e instanceof Error && 'exitCode' in e && typeof (e as { exitCode: unknown }).exitCode === 'number') return (e as { exitCode: number }).exitCode;
    return ExitCode.error;
  }
}

