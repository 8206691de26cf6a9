import { shellJoin } from '../transport/quote.js';
import { defineHostModule, type Change, type Probe } from './types.js';

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

function systemctl(args: SystemdArgs, ...words: string[]): string {
  const scope = args.scope === 'user' ? ['--user'] : args.scope === 'global' ? ['--global'] : [];
  return shellJoin(['systemctl', ...scope, ...words]);
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
      return { unit: { script: `${systemctl(args, 'show', args.name, '-p', 'LoadState,ActiveState,UnitFileState,FragmentPath')} 2>/dev/null; true`, parse: parseShow } };
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
        if (args.masked && !masked) changes.push(run(`mask ${unitName}`, 'mask', unitName));
        if (!args.masked && masked) changes.push(run(`unmask ${unitName}`, 'unmask', unitName));
      }
      if (args.enabled !== undefined) {
        if (generated) {
          return { changes: [], failed: `${unitName} is generated (by Quadlet or another generator) and cannot be ${args.enabled ? 'enabled' : 'disabled'}: its [Install] section is applied by the generator at daemon-reload; drop 'enabled' for this unit` };
        }
        const isEnabled = ['enabled', 'enabled-runtime', 'alias', 'static', 'indirect'].includes(unit.fileState);
        if (args.enabled && !isEnabled) changes.push(run(`enable ${unitName}`, 'enable', unitName));
        if (!args.enabled && unit.fileState === 'enabled') changes.push(run(`disable ${unitName}`, 'disable', unitName));
      }
      const noBlock = args.no_block ? ['--no-block'] : [];
      const active = unit.active === 'active' || unit.active === 'activating' || unit.active === 'reloading';
      if (args.state === 'started' && !active) changes.push(run(`start ${unitName}`, 'start', ...noBlock, unitName));
      if (args.state === 'stopped' && active) changes.push(run(`stop ${unitName}`, 'stop', ...noBlock, unitName));
      if (args.state === 'restarted') changes.push(run(`restart ${unitName}`, 'restart', ...noBlock, unitName));
      if (args.state === 'reloaded') changes.push(run(`reload ${unitName}`, active ? 'reload' : 'start', ...noBlock, unitName));
      return { changes, result: { name: unitName, status: { ActiveState: unit.active, UnitFileState: unit.fileState, LoadState: unit.load } } };
    },
  });
}

export const systemdService = defineSystemd('systemd_service');
export const systemd = defineSystemd('systemd');
export const service = defineSystemd('service');
