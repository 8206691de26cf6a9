import { quote, shellJoin } from '../transport/quote.js';
import { defineHostModule, type Change, type Probe } from './types.js';

export interface UserArgs {
  name: string;
  state?: 'present' | 'absent';
  uid?: number;
  group?: string;
  groups?: string | string[];
  append?: boolean;
  shell?: string;
  home?: string;
  comment?: string;
  system?: boolean;
  create_home?: boolean;
  remove?: boolean;
}

interface Account {
  exists: boolean;
  uid?: number;
  group?: string;
  groups?: string[];
  comment?: string;
  home?: string;
  shell?: string;
}

function accountProbe(name: string): Probe<Account> {
  return {
    script: `if getent passwd -- ${quote(name)}; then echo "G:$(id -gn -- ${quote(name)})"; echo "S:$(id -Gn -- ${quote(name)})"; fi`,
    parse(out) {
      const lines = out.split('\n');
      const pw = lines[0]?.split(':');
      if (!pw || pw.length < 7) return { exists: false };
      const primary = lines.find((l) => l.startsWith('G:'))?.slice(2) ?? '';
      const all = (lines.find((l) => l.startsWith('S:'))?.slice(2) ?? '').split(' ').filter(Boolean);
      return { exists: true, uid: Number(pw[2]), comment: pw[4], home: pw[5], shell: pw[6], group: primary, groups: all.filter((g) => g !== primary) };
    },
  };
}

function groupList(v: string | string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : v.split(',')).map((g) => g.trim()).filter(Boolean);
}

export const user = defineHostModule<UserArgs>({
  name: 'user',
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', pattern: '^[a-z_][a-z0-9_.-]*[$]?$', description: 'a user name: lower-case letters, digits, _ . -' },
      state: { enum: ['present', 'absent'] },
      uid: { type: 'integer', minimum: 0 },
      group: { type: 'string' },
      groups: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      append: { type: 'boolean' },
      shell: { type: 'string' },
      home: { type: 'string' },
      comment: { type: 'string' },
      system: { type: 'boolean' },
      create_home: { type: 'boolean' },
      remove: { type: 'boolean' },
    },
    required: ['name'],
    additionalProperties: false,
  },
  probe: (args) => ({ account: accountProbe(args.name) }),
  plan(args, facts) {
    const a = facts.account as Account;
    const run = (argv: string[]): Change => ({ kind: 'exec', script: shellJoin(argv), display: shellJoin(argv) });
    if (args.state === 'absent') return { changes: a.exists ? [run(['userdel', ...(args.remove ? ['-r'] : []), '--', args.name])] : [] };
    const groups = groupList(args.groups);
    if (!a.exists) {
      const argv = ['useradd'];
      if (args.uid !== undefined) argv.push('-u', String(args.uid));
      if (args.group !== undefined) argv.push('-g', args.group);
      if (groups?.length) argv.push('-G', groups.join(','));
      if (args.shell !== undefined) argv.push('-s', args.shell);
      if (args.home !== undefined) argv.push('-d', args.home);
      if (args.comment !== undefined) argv.push('-c', args.comment);
      if (args.system) argv.push('-r');
      argv.push(args.create_home === false || (args.system && args.create_home === undefined) ? '-M' : '-m');
      return { changes: [run([...argv, '--', args.name])] };
    }
    const argv = ['usermod'];
    if (args.uid !== undefined && args.uid !== a.uid) argv.push('-u', String(args.uid));
    if (args.group !== undefined && args.group !== a.group) argv.push('-g', args.group);
    if (args.shell !== undefined && args.shell !== a.shell) argv.push('-s', args.shell);
    if (args.home !== undefined && args.home !== a.home) argv.push('-d', args.home);
    if (args.comment !== undefined && args.comment !== a.comment) argv.push('-c', args.comment);
    if (groups) {
      const missing = groups.filter((g) => !a.groups!.includes(g));
      if (args.append && missing.length) argv.push('-a', '-G', missing.join(','));
      else if (!args.append && (missing.length || a.groups!.some((g) => !groups.includes(g)))) argv.push('-G', groups.join(','));
    }
    return { changes: argv.length > 1 ? [run([...argv, '--', args.name])] : [] };
  },
});

export interface GroupArgs {
  name: string;
  gid?: number;
  system?: boolean;
  state?: 'present' | 'absent';
}

export const group = defineHostModule<GroupArgs>({
  name: 'group',
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', pattern: '^[a-z_][a-z0-9_.-]*[$]?$' },
      gid: { type: 'integer', minimum: 0 },
      system: { type: 'boolean' },
      state: { enum: ['present', 'absent'] },
    },
    required: ['name'],
    additionalProperties: false,
  },
  probe: (args) => ({ group: { script: `getent group -- ${quote(args.name)}; true`, parse: (out) => (out.trim() ? Number(out.split(':')[2]) : undefined) } }),
  plan(args, facts) {
    const gid = facts.group as number | undefined;
    const run = (argv: string[]): Change => ({ kind: 'exec', script: shellJoin(argv), display: shellJoin(argv) });
    if (args.state === 'absent') return { changes: gid === undefined ? [] : [run(['groupdel', '--', args.name])] };
    if (gid === undefined) return { changes: [run(['groupadd', ...(args.gid !== undefined ? ['-g', String(args.gid)] : []), ...(args.system ? ['-r'] : []), '--', args.name])] };
    if (args.gid !== undefined && args.gid !== gid) return { changes: [run(['groupmod', '-g', String(args.gid), '--', args.name])] };
    return { changes: [] };
  },
});
