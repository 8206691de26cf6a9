import { attrSchema, attrsChangeFor, wantedAttrs, type AttrArgs } from './attrs.js';
import { effectiveInode, fileProbe, findPath, type FileFacts } from './facts/file.js';
import { sh } from '../transport/quote.js';
import { defineHostModule, type Change, type Plan, type Probe } from './types.js';

export interface FileArgs extends AttrArgs {
  path: string;
  state?: 'file' | 'directory' | 'touch' | 'link' | 'hard' | 'absent';
  src?: string;
  recurse?: boolean;
  force?: boolean;
  follow?: boolean;
}

/** Whether anything below a directory differs from the wanted attributes (for recurse). */
function recurseProbe(args: FileArgs): Probe<boolean> {
  const tests: string[] = [];
  if (args.mode !== undefined && /^[0-7]+$/.test(String(args.mode)) && typeof args.mode === 'string') tests.push(sh`! -perm ${args.mode.padStart(4, '0')}`);
  if (typeof args.mode === 'number') tests.push(sh`! -perm ${args.mode.toString(8).padStart(4, '0')}`);
  if (args.owner !== undefined) tests.push(/^\d+$/.test(args.owner) ? sh`! -uid ${args.owner}` : sh`! -user ${args.owner}`);
  if (args.group !== undefined) tests.push(/^\d+$/.test(args.group) ? sh`! -gid ${args.group}` : sh`! -group ${args.group}`);
  const script = tests.length === 0 ? 'true' : sh`find ${findPath(args.path)} -mindepth 1 `.concat(`\\( ${tests.join(' -o ')} \\) -print -quit 2>/dev/null`);
  return { script, parse: (out) => out.trim() !== '' };
}

function hardlinkProbe(args: FileArgs): Probe<boolean> {
  return {
    script: sh`[ "$(stat -c %d:%i -- ${args.path} 2>/dev/null)" = "$(stat -c %d:%i -- ${args.src ?? ''} 2>/dev/null)" ] && echo same`,
    parse: (out) => out.trim() === 'same',
  };
}

export const file = defineHostModule<FileArgs>({
  name: 'file',
  aliases: { dest: 'path', name: 'path' },
  schema: {
    type: 'object',
    properties: {
      path: { type: 'string', minLength: 1 },
      state: { enum: ['file', 'directory', 'touch', 'link', 'hard', 'absent'] },
      src: { type: 'string' },
      recurse: { type: 'boolean' },
      force: { type: 'boolean' },
      follow: { type: 'boolean' },
      ...attrSchema,
    },
    required: ['path'],
    additionalProperties: false,
  },
  probe(args) {
    const probes: Record<string, Probe> = { path: fileProbe(args.path) };
    if (args.state === 'directory' && args.recurse) probes.recurse = recurseProbe(args);
    if (args.state === 'hard') probes.hardlinked = hardlinkProbe(args);
    return probes;
  },
  plan(args, facts) {
    const f = facts.path as FileFacts;
    const follow = args.follow ?? true;
    const state = args.state ?? (f.exists ? (effectiveInode(f, follow)?.type === 'directory' ? 'directory' : 'file') : 'file');
    switch (state) {
      case 'absent':
        return { changes: f.exists ? [{ kind: 'remove', path: args.path, before: f.inode!.type }] : [] };
      case 'directory':
        return planDirectory(args, f, follow, facts.recurse === true);
      case 'file': {
        const inode = effectiveInode(f, follow);
        if (!inode) return { changes: [], failed: `file (${args.path}) is absent, cannot continue` };
        if (inode.type === 'directory') return { changes: [], failed: `${args.path} is a directory, not a file (use state: directory)` };
        return { changes: attrsChangeFor(args.path, inode, wantedAttrs(args, inode, false), follow) };
      }
      case 'touch': {
        const inode = effectiveInode(f, follow);
        const touch: Change = { kind: 'touch', path: args.path, attrs: wantedAttrs(args, inode, inode?.type === 'directory'), exists: f.exists };
        return { changes: [touch] };
      }
      case 'link':
        return planLink(args, f);
      case 'hard': {
        if (!args.src) return { changes: [], failed: 'src is required for state=hard' };
        return { changes: facts.hardlinked === true ? [] : [{ kind: 'hardlink', path: args.path, target: args.src }] };
      }
    }
  },
});

function planDirectory(args: FileArgs, f: FileFacts, follow: boolean, childrenDiffer: boolean): Plan {
  const inode = effectiveInode(f, follow);
  if (!inode) return { changes: [{ kind: 'mkdir', path: args.path, attrs: wantedAttrs(args, undefined, true) }] };
  if (inode.type !== 'directory') return { changes: [], failed: `${args.path} already exists as a ${inode.type}, not a directory` };
  const wanted = wantedAttrs(args, inode, true);
  const changes = attrsChangeFor(args.path, inode, wanted, follow);
  if (args.recurse && childrenDiffer) {
    const recursive: Change = { kind: 'attrs', path: args.path, attrs: wanted, before: { mode: inode.mode, owner: inode.owner, group: inode.group }, recurse: true, follow };
    return { changes: [recursive] };
  }
  return { changes };
}

function planLink(args: FileArgs, f: FileFacts): Plan {
  if (args.src === undefined) return { changes: [], failed: 'src is required for state=link' };
  if (f.inode?.type === 'link' && f.linkTarget === args.src) return { changes: [] };
  if (f.exists && f.inode?.type === 'directory') return { changes: [], failed: `refusing to replace directory ${args.path} with a symlink` };
  if (f.exists && f.inode?.type !== 'link' && !args.force) {
    return { changes: [], failed: `refusing to convert from ${f.inode?.type} to symlink for ${args.path} (set force: true)` };
  }
  return { changes: [{ kind: 'symlink', path: args.path, target: args.src, before: f.linkTarget ?? null }] };
}
