import { sh, RawShell } from '../../transport/quote.js';
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { mergeableProbe, type Probe, type ProbeKind } from '../types.js';

export type FileType = 'file' | 'directory' | 'link' | 'other';

/** What `stat` says about one path. */
export interface Inode {
  type: FileType;
  /** Four octal digits, e.g. '0644'. */
  mode: string;
  uid: number;
  gid: number;
  owner: string;
  group: string;
  size: number;
  mtime: number;
}

/** Facts about a path on the target; `target` is the followed inode when the path is a symlink. */
export interface FileFacts {
  path: string;
  exists: boolean;
  inode?: Inode;
  linkTarget?: string;
  target?: Inode;
  sha1?: string;
  sha256?: string;
  /** The content, when asked for and no larger than the cap. */
  content?: Buffer;
  tooLarge?: boolean;
  /**
   * The names a change made through another path could reach this one by: the path with its
   * directory's symlinks resolved, and with all its symlinks resolved (`realpath -m`). The
   * engine keeps a probe answer across a change only when the change reaches neither name
   * (HostRun.forgetProbes).
   */
  aliases?: string[];
}

/** Files larger than this are compared by checksum only and never shown in a diff. */
export const CONTENT_CAP = 8 * 1024 * 1024;

/** What a file probe asks for besides the inode: the checksums, the content too. */
export interface FileWant {
  content?: boolean;
  /** sha1 and sha256, as the stat module returns them. */
  checksum?: boolean;
  /** The sha256 alone (copy and template compare by it). */
  sha256?: boolean;
}

/** One path a file probe asks about. */
export interface FileQuery {
  path: string;
  want: FileWant;
}

// Every stat record ends in NUL with the name last, so no file name can break the parse.
const STAT = "'%F|%a|%u|%g|%U|%G|%s|%Y'";
// Sections of the answer start with two NULs, which no record holds (none is empty).
const SECTION = (name: string) => `printf '\\0\\0F${name}\\0'`;

/** Reads everything a file module needs about `path`; a batch asks all its paths at once. */
export function fileProbe(path: string, want: FileWant = {}): Probe<FileFacts> {
  return mergeableProbe<FileQuery, FileFacts>(FILES, { path, want }, { filePath: path });
}

/** Each path once, in query order: the script asks in this order and the parse reads in it. */
const queriedPaths = (queries: FileQuery[]) => [...new Set(queries.map((q) => q.path))];

/** `find` takes a leading `-` or `!` as an expression, so relative paths go in as `./path`. */
export const findPath = (path: string) => (path.startsWith('/') ? path : `./${path}`);

/**
 * The facts of many paths with a handful of processes, whatever their number: one `stat`
 * for all, one `sha256sum`, one `find` + `cat` + `base64` for the contents (files up to
 * CONTENT_CAP), `readlink` and `stat -L` only per symlink. A probe of one process tree per
 * file cost 6-9 forks each; on a host with 60 files that was most of a no-op run.
 */
export function fileFactsScript(queries: FileQuery[]): string {
  const paths = queriedPaths(queries);
  const summed = queriedPaths(queries.filter((q) => q.want.checksum || q.want.content || q.want.sha256));
  const sha1 = queriedPaths(queries.filter((q) => q.want.checksum));
  const content = queriedPaths(queries.filter((q) => q.want.content));
  const collect = (list: string[], test: (p: string) => string) => ['set --', ...list.map((p) => `${test(p)} && set -- "$@" ${sh`${p}`}`)];
  const lines = [
    SECTION('S'),
    ...collect(paths, (p) => sh`{ [ -e ${p} ] || [ -L ${p} ]; }`),
    `[ $# -eq 0 ] || stat --printf ${new RawShell(STAT.slice(0, -1))}|%n\\0' -- "$@" 2>/dev/null`,
    SECTION('K'),
    ...collect(paths, (p) => sh`[ -L ${p} ]`),
    `for p; do printf '%s\\0' "$p"; readlink -z -- "$p" 2>/dev/null || printf -- '-\\0'; stat -L --printf ${new RawShell(STAT.slice(0, -1))}\\0' -- "$p" 2>/dev/null || printf -- '-\\0'; done`,
    SECTION('H'),
    ...collect(summed, (p) => sh`[ -f ${p} ] && [ -r ${p} ]`),
    '[ $# -eq 0 ] || sha256sum -z -- "$@" 2>/dev/null',
    SECTION('1'),
    ...collect(sha1, (p) => sh`[ -f ${p} ] && [ -r ${p} ]`),
    '[ $# -eq 0 ] || sha1sum -z -- "$@" 2>/dev/null',
    SECTION('C'),
    'set --',
    ...content.map((p) => sh`set -- "$@" ${findPath(p)}`),
    `small="-maxdepth 0 -type f -readable -size -${CONTENT_CAP + 1}c"`,
    `[ $# -eq 0 ] || find -L "$@" $small -printf '%p\\0' 2>/dev/null`,
    SECTION('B'),
    `[ $# -eq 0 ] || { find -L "$@" $small -exec cat -- {} + 2>/dev/null | base64 -w0; }`,
    SECTION('R'),
    // Resolved names, for the probe cache (FileFacts.aliases): each path, then its directory.
    `realpath -mz -- ${paths.map((p) => sh`${p}`).join(' ')} ${paths.map((p) => sh`${posix.dirname(p)}`).join(' ')} 2>/dev/null`,
    SECTION('E'),
  ];
  return lines.join('\n');
}

export function parseInode(line: string): Inode | undefined {
  const f = line.split('|');
  if (f.length < 8) return undefined;
  const [kind, mode, uid, gid, owner, group, size, mtime] = f as [string, string, string, string, string, string, string, string];
  const type: FileType = kind.startsWith('regular') ? 'file' : kind === 'directory' ? 'directory' : kind === 'symbolic link' ? 'link' : 'other';
  return { type, mode: mode.padStart(4, '0'), uid: Number(uid), gid: Number(gid), owner, group, size: Number(size), mtime: Number(mtime) };
}

/** The output of fileFactsScript, cut at its section markers. */
function sections(out: string): Map<string, string> {
  const found = new Map<string, string>();
  const parts = out.split(/\0\0F([SKH1CBRE])\0/);
  for (let i = 1; i < parts.length; i += 2) found.set(parts[i]!, parts[i + 1]!);
  if (!found.has('E')) throw new Error('the file probe ended early');
  return found;
}

/** A section's NUL-terminated records. */
const records = (section = '') => section.split('\0').slice(0, -1);

/** Checksum records (`HASH  NAME`, as `sha256sum -z` prints them) by name. */
function sums(lines: string[]): Map<string, string> {
  return new Map(lines.map((r) => [r.slice(r.indexOf(' ') + 2), r.slice(0, r.indexOf(' '))]));
}

const digest = (algo: string, data: Buffer) => createHash(algo).update(data).digest('hex');

/** The facts of every queried path, from the answer of fileFactsScript. */
export function parseFileFacts(out: string, queries: FileQuery[]): Map<string, FileFacts> {
  const s = sections(out);
  const inodes = new Map<string, Inode>();
  for (const r of records(s.get('S'))) {
    const f = r.split('|');
    const inode = parseInode(f.slice(0, 8).join('|'));
    if (inode) inodes.set(f.slice(8).join('|'), inode);
  }
  const links = new Map<string, { target: string; inode?: Inode | undefined }>();
  const k = records(s.get('K'));
  for (let i = 0; i + 2 < k.length; i += 3) links.set(k[i]!, { target: k[i + 1]!, inode: parseInode(k[i + 2] ?? '') });
  const sha256 = sums(records(s.get('H')));
  const sha1 = sums(records(s.get('1')));
  const contents = readContents(records(s.get('C')), s.get('B') ?? '', inodes, links, sha256, queries);
  const aliases = resolvedNames(records(s.get('R')), queries);
  const facts = new Map<string, FileFacts>();
  for (const { path, want } of queries) {
    const inode = inodes.get(path);
    const names = aliases.get(path);
    if (!inode) {
      facts.set(path, { path, exists: false, ...(names && { aliases: names }) });
      continue;
    }
    const f: FileFacts = facts.get(path) ?? { path, exists: true, inode, ...(names && { aliases: names }) };
    const link = links.get(path);
    if (inode.type === 'link' && link) {
      f.linkTarget = link.target;
      if (link.inode) f.target = link.inode;
    }
    if (sha256.has(path)) f.sha256 = sha256.get(path)!;
    if (sha1.has(path)) f.sha1 = sha1.get(path)!;
    const data = contents.get(path);
    if (data) {
      f.content = data;
      f.sha1 ??= digest('sha1', data);
    } else if (want.content && f.sha256 !== undefined) f.tooLarge = true;
    facts.set(path, f);
  }
  return facts;
}

/**
 * Each path's two resolved names from the `realpath` section (paths first, then their
 * directories, in script order). A short answer (a directory the user cannot search) gives
 * none: the engine then treats the path as reachable from anywhere.
 */
function resolvedNames(resolved: string[], queries: FileQuery[]): Map<string, string[]> {
  const paths = queriedPaths(queries);
  const names = new Map<string, string[]>();
  if (resolved.length !== paths.length * 2) return names;
  paths.forEach((p, i) => {
    const dir = resolved[paths.length + i]!;
    const base = posix.basename(p);
    const lexical = base === '' || base === '.' || base === '..' ? resolved[i]! : posix.join(dir, base);
    names.set(p, [...new Set([lexical, resolved[i]!])]);
  });
  return names;
}

/**
 * Cuts the concatenated contents into files by their sizes, and checks each piece against
 * the file's own sha256: a file that changed while it was read must not be edited from a
 * mix of two versions.
 */
function readContents(names: string[], blob: string, inodes: Map<string, Inode>, links: Map<string, { inode?: Inode | undefined }>, sha256: Map<string, string>, queries: FileQuery[]): Map<string, Buffer> {
  const original = new Map(queries.map((q) => [findPath(q.path), q.path]));
  const all = Buffer.from(blob, 'base64');
  const out = new Map<string, Buffer>();
  let at = 0;
  for (const name of names) {
    const path = original.get(name) ?? name;
    const inode = inodes.get(path);
    const size = (inode?.type === 'link' ? links.get(path)?.inode : inode)?.size ?? -1;
    const data = all.subarray(at, at + size);
    at += size;
    if (size < 0 || data.length !== size || digest('sha256', data) !== sha256.get(path)) throw new Error(`${path} changed while it was read; run again`);
    out.set(path, data);
  }
  if (at !== all.length) throw new Error('files changed while they were read; run again');
  return out;
}

/** The inode a write or attribute change lands on: the link's target when following. */
export function effectiveInode(f: FileFacts, follow = true): Inode | undefined {
  return follow && f.inode?.type === 'link' ? f.target : f.inode;
}

const FILES: ProbeKind<FileQuery> = { id: 'file', script: fileFactsScript, parse: parseFileFacts, key: (q) => q.path };
