import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createHash } from 'node:crypto';

export interface Entry {
  type: 'file' | 'dir' | 'link';
  mode: string;
  uid: number;
  gid: number;
  mtimeMs?: number;
  sha256?: string;
  target?: string;
}

/** Every path under dir with type, mode, owner, content hash, link target (and mtime if asked). */
export function snapshot(dir: string, withMtime = false): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  const walk = (p: string): void => {
    const st = lstatSync(p);
    const rel = relative(dir, p) || '.';
    const e: Entry = {
      type: st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file',
      mode: (st.mode & 0o7777).toString(8).padStart(4, '0'),
      uid: st.uid,
      gid: st.gid,
    };
    if (withMtime) e.mtimeMs = st.mtimeMs;
    if (e.type === 'link') e.target = readlinkSync(p);
    if (e.type === 'file') e.sha256 = createHash('sha256').update(readFileSync(p)).digest('hex');
    out[rel] = e;
    if (e.type === 'dir') for (const name of readdirSync(p).sort()) walk(join(p, name));
  };
  walk(dir);
  return out;
}
