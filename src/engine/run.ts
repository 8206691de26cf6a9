import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorSink, ExitCode, OptionsError, ValidationError, type ExitCode as Code } from '../errors.js';
import { checkUndefinedNames } from '../load/undefined-check.js';
import type { Inventory } from '../inventory/inventory.js';
import { loadInventory, loadVarsDirs } from '../inventory/load.js';
import { matchHosts, PatternError } from '../inventory/pattern.js';
import { loadPlaybook } from '../load/playbook.js';
import { posOf } from '../load/yaml.js';
import type { Playbook } from '../load/model.js';
import type { HostStats, HostTransportStats, Reporter, RunEvent } from '../output/events.js';
import type { ConnectionSpec, Connector } from '../transport/connect.js';
import { VarScope } from '../vars/scope.js';
import { Templater } from '../vars/template.js';
import { HostRun } from './host-run.js';
import type { RunOptions } from './options.js';
import { PlayRunner } from './play-runner.js';

export interface RunSummary {
  exitCode: Code;
  stats: Record<string, HostStats>;
}

/** `site.yml` is looked up as given, then under playbooks/. */
export function resolvePlaybook(name: string, cwd: string): string {
  for (const candidate of [resolve(cwd, name), resolve(cwd, 'playbooks', name), resolve(cwd, 'playbooks', `${name}.yml`)]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new OptionsError(`playbook '${name}' not found`, `looked for ${name} and playbooks/${name}`);
}

/** Everything loaded and validated before any host is touched. */
export interface LoadedRun {
  playbook: Playbook;
  inventory: Inventory;
  templater: Templater;
  /** Hosts of each play, after --limit. */
  playHosts: string[][];
}

export function loadRun(options: RunOptions): LoadedRun {
  const templater = new Templater();
  // Several playbooks run as one, in order, with one recap (as ansible-playbook a.yml b.yml).
  const paths = [options.playbook, ...(options.morePlaybooks ?? [])].map((p) => resolvePlaybook(p, options.cwd));
  const playbookDir = dirname(paths[0]!);
  const inventory = loadInventory(options.inventory, [options.cwd, playbookDir, resolve(playbookDir, '..')]);
  for (const dir of new Set(paths.map((p) => dirname(p)))) loadVarsDirs(inventory, dir);
  const books = paths.map((p) => loadPlaybook(p, { templater, rolesPath: options.rolesPath, collectionsPath: options.collectionsPath }));
  const playbook = { path: books[0]!.path, plays: books.flatMap((b) => b.plays) };
  if (options.forceHandlers) for (const play of playbook.plays) play.forceHandlers = true;
  const sink = new ErrorSink();
  checkUndefinedNames(playbook.plays, inventory, options.extraVars, sink, templater);
  sink.throwIfAny();
  let limit: Set<string> | undefined;
  if (options.limit !== undefined) {
    try {
      limit = new Set(matchHosts(inventory, options.limit));
    } catch (e) {
      if (e instanceof PatternError) throw new OptionsError(`--limit: ${e.message}`, 'patterns look like web*, group1:group2, g1:&g2, g1:!host3');
      throw e;
    }
  }
  const playHosts = playbook.plays.map((play) => {
    let hosts: string[];
    try {
      hosts = matchHosts(inventory, play.hosts);
    } catch (e) {
      if (e instanceof PatternError) throw new ValidationError('E_PATTERN', e.message, { pos: posOf(play.source, 'hosts') ?? play.pos, hint: 'patterns look like web*, group1:group2, g1:&g2, g1:!host3' });
      throw e;
    }
    if (hosts.length === 0 && /^(localhost|127\.0\.0\.1)$/.test(play.hosts.trim())) {
      // Ansible's implicit localhost: not in the inventory, reached without SSH.
      inventory.host(play.hosts.trim()).vars.ansible_connection ??= 'local';
      hosts = [play.hosts.trim()];
    }
    return limit ? hosts.filter((h) => limit!.has(h)) : hosts;
  });
  if (options.limit !== undefined && playHosts.every((h) => h.length === 0)) {
    throw new OptionsError(`--limit '${options.limit}' leaves no hosts to run on`, `hosts in the inventory: ${[...inventory.hosts.keys()].slice(0, 10).join(', ')}`);
  }
  return { playbook, inventory, templater, playHosts };
}

/** Runs a loaded playbook; every event goes to the reporter. */
export async function runLoaded(loaded: LoadedRun, options: RunOptions, reporter: Reporter, signal: AbortSignal, connect: Connector): Promise<RunSummary> {
  const started = Date.now();
  const emit = (e: RunEvent) => reporter.handle(e);
  const hostRuns = new Map<string, HostRun>();
  // A host's connection spec depends only on the inventory, -e and the remote_user keyword,
  // none of which a run changes: templated once per host and user, not per delegated task.
  const specs = new Map<string, ConnectionSpec>();
  const specOf = (name: string, remoteUser: string | undefined): ConnectionSpec => {
    const key = JSON.stringify([name, remoteUser ?? null]);
    let spec = specs.get(key);
    if (!spec) specs.set(key, (spec = connectionSpec(name, loaded, options, remoteUser)));
    return spec;
  };
  const hostRun = (name: string): HostRun => {
    let h = hostRuns.get(name);
    if (!h) {
      h = new HostRun(name, loaded.inventory, (run) => {
        const spec = specOf(run.name, undefined);
        run.login = { user: spec.user, connection: spec.connection };
        return connect(spec);
      });
      hostRuns.set(name, h);
    }
    return h;
  };
  // Connections other than a host's own: delegate_to another host, or a remote_user that is
  // not the one the host logs in as. Each is a HostRun of its own (its own connection and
  // planned files), never in the recap; the task's results stay on the original host.
  const targets = new Map<string, HostRun>();
  const connections: Connections = {
    hostRun,
    known: (name) => hostRuns.get(name),
    address: (name) => specOf(name, undefined).address,
    target(host, name, remoteUser) {
      const spec = specOf(name, remoteUser);
      const own = name === host.name && spec.user === specOf(host.name, undefined).user;
      if (own) return host;
      const key = `${name}\0${spec.user ?? ''}\0${spec.connection}`;
      let t = targets.get(key);
      if (!t) {
        t = new HostRun(name, loaded.inventory, () => connect(spec));
        t.login = { user: spec.user, connection: spec.connection };
        targets.set(key, t);
      }
      return t;
    },
    changed(name) {
      hostRuns.get(name)?.forgetProbes();
      for (const t of targets.values()) if (t.name === name) t.forgetProbes();
    },
  };
  emit({ kind: 'run_start', playbook: loaded.playbook.path, check: options.check, diff: options.diff });
  const startState = { started: false };
  try {
    for (const [i, play] of loaded.playbook.plays.entries()) {
      if (signal.aborted) break;
      const hosts = loaded.playHosts[i]!.map(hostRun).filter((h) => h.state !== 'unreachable' && h.state !== 'failed');
      if (hosts.length === 0) {
        emit({ kind: 'warning', message: `play '${play.name}': no hosts matched '${play.hosts}'${options.limit ? ` with --limit ${options.limit}` : ''}; skipping` });
        continue;
      }
      for (const h of hosts) if (h.state === 'ended') h.state = 'active';
      await new PlayRunner(play, hosts, { options, templater: loaded.templater, emit, signal, startState, connections }).run();
    }
  } finally {
    const transport: Record<string, HostTransportStats> = {};
    await Promise.all(
      [...targets.values()].map((t) => t.close()).concat(
      [...hostRuns.values()].map(async (h) => {
        const t = await h.openConnection();
        if (t) transport[h.name] = { ...t.stats, probeMs: Math.round(h.timing.probeMs), applyMs: Math.round(h.timing.applyMs) };
        await h.close();
      })),
    );
    const stats = Object.fromEntries([...hostRuns.values()].map((h) => [h.name, h.stats]));
    emit({ kind: 'recap', stats, transport, durationMs: Date.now() - started });
  }
  const stats = Object.fromEntries([...hostRuns.values()].map((h) => [h.name, h.stats]));
  return { exitCode: exitCodeOf(stats, options, signal), stats };
}

function exitCodeOf(stats: Record<string, HostStats>, options: RunOptions, signal: AbortSignal): Code {
  const all = Object.values(stats);
  if (signal.aborted) return ExitCode.interrupted;
  if (all.some((s) => s.failed > 0)) return ExitCode.hostFailed;
  if (all.some((s) => s.unreachable > 0)) return ExitCode.unreachable;
  if (options.detailedExitcode && all.some((s) => s.changed > 0)) return ExitCode.changed;
  return ExitCode.ok;
}

/**
 * How to reach a host: its ansible_* variables, templated, over the run's defaults. As in
 * Ansible, `ansible_user` wins over the remote_user keyword, which wins over `-u`. A
 * `localhost` or `127.0.0.1` not in the inventory is Ansible's implicit localhost: a local
 * connection.
 */
function connectionSpec(name: string, loaded: LoadedRun, options: RunOptions, remoteUser: string | undefined): ConnectionSpec {
  const implicitLocal = !loaded.inventory.hosts.has(name) && (name === 'localhost' || name === '127.0.0.1');
  const scope = new VarScope([...loaded.inventory.varLayers(name), options.extraVars, { inventory_hostname: name }], loaded.templater);
  const get = (n: string): unknown => (scope.has(n) ? scope.get(n) : undefined);
  const vars: Record<string, unknown> = {};
  for (const n of scope.names()) if (n.startsWith('ansible_')) vars[n] = get(n);
  const firstPlay = loaded.playbook.plays.find((p, i) => loaded.playHosts[i]!.includes(name));
  return {
    host: name,
    connection: implicitLocal ? 'local' : String(get('ansible_connection') ?? firstPlay?.connection ?? options.connection ?? 'ssh'),
    address: String(get('ansible_host') ?? name),
    port: Number(get('ansible_port') ?? 22),
    user: (get('ansible_user') as string | undefined) ?? remoteUser ?? options.remoteUser,
    vars,
  };
}

/** Connections a task may use other than its host's own (delegate_to, remote_user). */
export interface Connections {
  /** The run of a host by inventory name (delegate_facts sets facts there). */
  hostRun(name: string): HostRun;
  /** The address (ansible_host) a host is reached at, as Ansible shows a delegation. */
  address(name: string): string;
  /** The run of a host if the run has one already. */
  known(name: string): HostRun | undefined;
  /** What reaches `name` as `remoteUser` (the keyword): `host` itself when that is its own connection. */
  target(host: HostRun, name: string, remoteUser: string | undefined): HostRun;
  /** A delegated task changed `name`: what was probed there before may be stale. */
  changed(name: string): void;
}
