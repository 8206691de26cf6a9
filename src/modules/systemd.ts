import { shellJoin } from '../transport/quote.js';
import { defineHostModule, mergeableProbe, type Change, type Probe, type ProbeKind } from './types.js';

export interface SystemdArgs {
  name?: string;
  state?: 'started' | 'stopped' | 'restarted' | 'reloaded';
  enabled?: boolean;
  masked?: boolean;
  daemon_reload?: boolean;
  scope?: 'system' | 'user' | 'global';
  no_block?: boolean;
}

interface UnitState {
  load: string;
  active: string;
  fileState: string;
  /** Where the unit comes from; quadlet units live under /run/.../generator. */
  fragment: string;
}

/** Unit names always follow `--`: a name such as `--host=elsewhere` is a name, not an option. */
function systemctl(args: SystemdArgs, ...words: string[]): string {
  const scope = args.scope === 'user' ? ['--user'] : args.scope === 'global' ? ['--global'] : [];
  return shellJoin(['systemctl', ...scope, ...words]);
}

/**
 * `systemctl start|restart|reload` that, when the unit fails, also prints the unit's last
 * log lines: the reason (a bad config line, a missing file) is in the error at once,
 * instead of behind "see journalctl -xeu".
 */
function withLogOnFailure(args: SystemdArgs, command: string, unitName: string): string {
  const journal = shellJoin(['journalctl', ...(args.scope === 'user' ? ['--user'] : []), '-u', unitName, '-n', '12', '--no-pager', '-o', 'cat']);
  // Only this attempt's lines (since the second it began), not an older failure's.
  return `t=$(date +%s); ${command} || { rc=$?; echo "log of ${unitName.replace(/[^\w@.:-]/g, '_')} since this attempt:" >&2; ${journal} --since "@$t" >&2 2>/dev/null; exit $rc; }`;
}

const SHOWN = 'LoadState,ActiveState,UnitFileState,FragmentPath';

/**
 * The state of many units from one `systemctl show` (a dbus round trip each, but one
 * process): it prints one block per unit, in the order given, blank lines between.
 */
const unitKinds = new Map<string, ProbeKind<string>>();
function unitKind(args: SystemdArgs): ProbeKind<string> {
  const id = `unit:${args.scope ?? 'system'}`;
  let kind = unitKinds.get(id);
  if (!kind) {
    kind = {
      id,
      script: (names) => `${systemctl(args, 'show', '-p', SHOWN, '--', ...names)} 2>/dev/null; true`,
      parse(out, names) {
        const blocks = out.trim() === '' ? [] : out.split(/\n\n+/);
        // One unit systemctl refused to show (an invalid name) is not-found; in a batch it would shift every other answer.
        if (blocks.length !== names.length && !(names.length === 1 && blocks.length === 0)) throw new Error(`systemctl show answered for ${blocks.length} of ${names.length} units`);
        return new Map(names.map((n, i) => [n, parseShow(blocks[i] ?? '')]));
      },
      key: (name) => name,
    };
    unitKinds.set(id, kind);
  }
  return kind;
}

function parseShow(out: string): UnitState {
  const v: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) v[line.slice(0, i)] = line.slice(i + 1);
  }
  return { load: v.LoadState ?? 'not-found', active: v.ActiveState ?? 'inactive', fileState: v.UnitFileState ?? '', fragment: v.FragmentPath ?? '' };
}

export function defineSystemd(name: 'systemd_service' | 'systemd' | 'service') {
  return defineHostModule<SystemdArgs>({
    name,
    aliases: { unit: 'name', 'daemon-reload': 'daemon_reload' },
    schema: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1 },
        state: { enum: ['started', 'stopped', 'restarted', 'reloaded'] },
        enabled: { type: 'boolean' },
        masked: { type: 'boolean' },
        daemon_reload: { type: 'boolean' },
        scope: { enum: ['system', 'user', 'global'] },
        no_block: { type: 'boolean' },
      },
      additionalProperties: false,
      anyOf: [{ required: ['name'] }, { required: ['daemon_reload'] }],
    },
    probe(args): Record<string, Probe> {
      if (!args.name) return {};
      // For scope=user this runs as the become user, against their own manager (Ansible's way).
      return { unit: mergeableProbe(unitKind(args), args.name) };
    },
    plan(args, facts) {
      const changes: Change[] = [];
      const run = (display: string, ...words: string[]): Change => ({ kind: 'exec', script: systemctl(args, ...words), display });
      // As in Ansible: a daemon-reload runs first and does not by itself count as a change.
      if (args.daemon_reload) changes.push({ ...run('systemctl daemon-reload', 'daemon-reload'), quiet: true } as Change);
      if (!args.name) return { changes };
      const unit = facts.unit as UnitState;
      const unitName = args.name;
      const generated = unit.fileState === 'generated' || unit.fragment.includes('/generator');
      if (unit.load === 'not-found' && !args.daemon_reload && (args.state !== undefined || args.enabled !== undefined)) {
        return { changes: [], failed: `could not find the requested service ${unitName}: ${args.scope === 'user' ? 'in the user manager of the become user' : 'host'}` };
      }
      if (args.masked !== undefined) {
        const masked = unit.fileState === 'masked' || unit.fileState === 'masked-runtime' || unit.load === 'masked';
        if (args.masked && !masked) changes.push(run(`mask ${unitName}`, 'mask', '--', unitName));
        if (!args.masked && masked) changes.push(run(`unmask ${unitName}`, 'unmask', '--', unitName));
      }
      if (args.enabled !== undefined) {
        if (generated) {
          return { changes: [], failed: `${unitName} is generated (by Quadlet or another generator) and cannot be ${args.enabled ? 'enabled' : 'disabled'}: its [Install] section is applied by the generator at daemon-reload; drop 'enabled' for this unit` };
        }
        const isEnabled = ['enabled', 'enabled-runtime', 'alias', 'static', 'indirect'].includes(unit.fileState);
        if (args.enabled && !isEnabled) changes.push(run(`enable ${unitName}`, 'enable', '--', unitName));
        if (!args.enabled && unit.fileState === 'enabled') changes.push(run(`disable ${unitName}`, 'disable', '--', unitName));
      }
      const noBlock = args.no_block ? ['--no-block'] : [];
      const active = unit.active === 'active' || unit.active === 'activating' || unit.active === 'reloading';
      const starting = (display: string, verb: string): Change => {
        const c = run(display, verb, ...noBlock, '--', unitName) as Extract<Change, { kind: 'exec' }>;
        return { ...c, script: withLogOnFailure(args, c.script, unitName) };
      };
      if (args.state === 'started' && !active) changes.push(starting(`start ${unitName}`, 'start'));
      if (args.state === 'stopped' && active) changes.push(run(`stop ${unitName}`, 'stop', ...noBlock, '--', unitName));
      if (args.state === 'restarted') changes.push(starting(`restart ${unitName}`, 'restart'));
      if (args.state === 'reloaded') changes.push(starting(`reload ${unitName}`, active ? 'reload' : 'start'));
      return { changes, result: { name: unitName, status: { ActiveState: unit.active, UnitFileState: unit.fileState, LoadState: unit.load } } };
    },
  });
}

export const systemdService = defineSystemd('systemd_service');
export const systemd = defineSystemd('systemd');
export const service = defineSystemd('service');
