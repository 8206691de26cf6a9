import { createHash } from 'node:crypto';
import type { FileFacts, Inode } from '../../src/modules/facts/file.js';

const sum = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');

/** FileFacts as the file probe would report them, for table tests. */
export function file(path: string, opts: { content?: string; unread?: boolean; mode?: string; owner?: string; group?: string; type?: Inode['type']; link?: string; target?: Partial<Inode> } = {}): FileFacts {
  const type = opts.type ?? (opts.link !== undefined ? 'link' : 'file');
  const content = opts.content !== undefined ? Buffer.from(opts.content) : undefined;
  const inode: Inode = { type, mode: opts.mode ?? (type === 'directory' ? '0755' : '0644'), uid: 0, gid: 0, owner: opts.owner ?? 'root', group: opts.group ?? 'root', size: content?.length ?? 0, mtime: 0 };
  const f: FileFacts = { path, exists: true, inode };
  if (opts.link !== undefined) {
    f.linkTarget = opts.link;
    f.target = { ...inode, type: 'file', ...(opts.target ?? {}) };
  }
  // unread: the probe was asked for the checksum only (copy and template without a diff).
  if (content) Object.assign(f, opts.unread ? { sha256: sum('sha256', content) } : { content, sha1: sum('sha1', content), sha256: sum('sha256', content) });
  return f;
}

export function absent(path: string): FileFacts {
  return { path, exists: false };
}

export function dir(path: string, mode = '0755'): FileFacts {
  return file(path, { type: 'directory', mode });
}
