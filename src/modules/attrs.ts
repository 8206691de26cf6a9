import type { Inode } from './facts/file.js';
import { ModuleError, type Attrs, type Change } from './types.js';

/** The file-attribute arguments every file-writing module takes (as Ansible's). */
export interface AttrArgs {
  mode?: string | number | undefined;
  owner?: string | undefined;
  group?: string | undefined;
}

/**
 * A user or group name (or number) as chown takes it: never beginning with `-` (chown would
 * read `--reference=/etc/shadow` as an option), without `:` (the owner:group separator),
 * `/` or white space, none of which a Debian account name holds.
 */
const ACCOUNT_NAME = { type: 'string', pattern: '^[^-:/\\s][^:/\\s]*$', description: 'a user or group name or id, not beginning with -' } as const;

export const attrSchema = {
  mode: {
    description: "an octal mode, quoted ('0644') or as YAML octal (0644), or symbolic like u=rw,g=r,o=r",
    anyOf: [
      { type: 'integer', minimum: 0, maximum: 0o7777 },
      { type: 'string', pattern: '^(?:[0-7]{1,4}|preserve|[ugoa]*[-+=][rwxXst]*(?:,[ugoa]*[-+=][rwxXst]*)*)$' },
    ],
  },
  owner: ACCOUNT_NAME,
  group: ACCOUNT_NAME,
} as const;

export class ModeError extends ModuleError {}

/**
 * The octal mode ('0644') a `mode:` argument asks for. An integer is read as Ansible
 * does: YAML `0644` is already 420 and means 0644; YAML `644` is decimal 644, which
 * Ansible also takes literally (0o1204), a classic trap we keep for compatibility.
 */
export function resolveMode(wanted: string | number | undefined, current: string | undefined, isDir: boolean): string | undefined {
  if (wanted === undefined || wanted === null) return undefined;
  if (typeof wanted === 'number') return toOctal(wanted);
  const s = String(wanted).trim();
  if (/^[0-7]{1,4}$/.test(s)) return toOctal(parseInt(s, 8));
  if (s === 'preserve') return undefined;
  return symbolicMode(s, current === undefined ? 0 : parseInt(current, 8), isDir);
}

function toOctal(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0o7777) throw new ModeError(`mode ${n} is out of range (0000-7777)`);
  return n.toString(8).padStart(4, '0');
}

const WHO: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007 };

/** chmod's symbolic modes: `u=rw,g=r,o=`, `a+x`, `go-w`, `u+X`. */
function symbolicMode(spec: string, current: number, isDir: boolean): string {
  let mode = current;
  for (const clause of spec.split(',')) {
    const m = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(clause.trim());
    if (!m) throw new ModeError(`mode '${spec}' is neither octal (0644) nor symbolic (u=rw,g=r,o=r)`);
    const who = m[1] === '' || m[1]!.includes('a') ? 'ugo' : m[1]!;
    let mask = 0;
    for (const w of who) mask |= WHO[w]!;
    let bits = 0;
    for (const p of m[3]!) {
      if (p === 'r') bits |= 0o444;
      else if (p === 'w') bits |= 0o222;
      else if (p === 'x' || (p === 'X' && (isDir || (mode & 0o111) !== 0))) bits |= 0o111;
      else if (p === 's') bits |= 0o6000;
      else if (p === 't') bits |= 0o1000;
    }
    bits &= mask;
    if (m[2] === '+') mode |= bits;
    else if (m[2] === '-') mode &= ~bits;
    else mode = (mode & ~mask) | bits;
  }
  return toOctal(mode);
}

/** Which of the wanted attributes differ from the inode (mode already resolved). */
export function attrsToChange(inode: Inode | undefined, wanted: Attrs): Attrs {
  const out: Attrs = {};
  if (wanted.mode !== undefined && inode?.mode !== wanted.mode) out.mode = wanted.mode;
  if (wanted.owner !== undefined && !sameId(wanted.owner, inode?.owner, inode?.uid)) out.owner = wanted.owner;
  if (wanted.group !== undefined && !sameId(wanted.group, inode?.group, inode?.gid)) out.group = wanted.group;
  return out;
}

function sameId(wanted: string, name: string | undefined, id: number | undefined): boolean {
  return /^\d+$/.test(wanted) ? Number(wanted) === id : wanted === name;
}

export function isEmpty(a: Attrs): boolean {
  return a.mode === undefined && a.owner === undefined && a.group === undefined;
}

/** The wanted attributes of a file, mode resolved against what is there now. */
export function wantedAttrs(args: AttrArgs, inode: Inode | undefined, isDir: boolean): Attrs {
  const out: Attrs = {};
  const mode = resolveMode(args.mode, inode?.mode, isDir);
  if (mode !== undefined) out.mode = mode;
  if (args.owner !== undefined) out.owner = args.owner;
  if (args.group !== undefined) out.group = args.group;
  return out;
}

/** An attrs change for an existing inode, or nothing when it already matches. */
export function attrsChangeFor(path: string, inode: Inode, wanted: Attrs, follow = true): Change[] {
  const diff = attrsToChange(inode, wanted);
  if (isEmpty(diff)) return [];
  return [{ kind: 'attrs', path, attrs: diff, before: { mode: inode.mode, owner: inode.owner, group: inode.group }, follow }];
}
