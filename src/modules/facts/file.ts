import { sh, RawShell } from '../../transport/quote.js';
import type { Probe } from '../types.js';

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
}

/** Files larger than this are compared by checksum only and never shown in a diff. */
export const CONTENT_CAP = 8 * 1024 * 1024;

const STAT = "'%F|%a|%u|%g|%U|%G|%s|%Y'";

/** Reads everything a file module needs about `path` in one command. */
export function fileProbe(path: string, want: { content?: boolean; checksum?: boolean } = {}): Probe<FileFacts> {
  const regular = [
    want.checksum || want.content ? 'sha1sum <"$p" | cut -d" " -f1; sha256sum <"$p" | cut -d" " -f1' : 'echo; echo',
    want.content ? `if [ "$(stat -L -c %s -- "$p")" -le ${CONTENT_CAP} ]; then printf C; base64 -w0 <"$p"; echo; else echo TOOBIG; fi` : 'echo',
  ].join('; ');
  const script = sh`p=${path}
if [ -e "$p" ] || [ -L "$p" ]; then
  stat -c ${new RawShell(STAT)} -- "$p" || exit 1
  if [ -L "$p" ]; then printf 'L%s\n' "$(printf '%s' "$(readlink -- "$p")" | base64 -w0)"; stat -L -c ${new RawShell(STAT)} -- "$p" 2>/dev/null || echo; else echo L; echo; fi
  if [ -f "$p" ] && [ -r "$p" ]; then ${new RawShell(regular)}; fi
else echo absent; fi`;
  return { script, filePath: path, parse: (out) => parseFileFacts(path, out) };
}

export function parseInode(line: string): Inode | undefined {
  const f = line.split('|');
  if (f.length < 8) return undefined;
  const [kind, mode, uid, gid, owner, group, size, mtime] = f as [string, string, string, string, string, string, string, string];
  const type: FileType = kind.startsWith('regular') ? 'file' : kind === 'directory' ? 'directory' : kind === 'symbolic link' ? 'link' : 'other';
  return { type, mode: mode.padStart(4, '0'), uid: Number(uid), gid: Number(gid), owner, group, size: Number(size), mtime: Number(mtime) };
}

export function parseFileFacts(path: string, out: string): FileFacts {
  const lines = out.split('\n');
  if (lines[0] === 'absent' || lines[0] === undefined || lines[0] === '') return { path, exists: false };
  const facts: FileFacts = { path, exists: true };
  const inode = parseInode(lines[0]);
  if (inode) facts.inode = inode;
  const link = lines[1] ?? 'L';
  if (link.length > 1) {
    facts.linkTarget = Buffer.from(link.slice(1), 'base64').toString('utf8');
    const target = parseInode(lines[2] ?? '');
    if (target) facts.target = target;
  }
  if (lines[3]) facts.sha1 = lines[3];
  if (lines[4]) facts.sha256 = lines[4];
  const content = lines[5] ?? '';
  if (content === 'TOOBIG') facts.tooLarge = true;
  else if (content.startsWith('C')) facts.content = Buffer.from(content.slice(1), 'base64');
  return facts;
}

/** The inode a write or attribute change lands on: the link's target when following. */
export function effectiveInode(f: FileFacts, follow = true): Inode | undefined {
  return follow && f.inode?.type === 'link' ? f.target : f.inode;
}
