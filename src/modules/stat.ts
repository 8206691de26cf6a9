import { fileProbe, type FileFacts, type Inode } from './facts/file.js';
import { defineHostModule } from './types.js';

export interface StatArgs {
  path: string;
  follow?: boolean;
  get_checksum?: boolean;
  checksum_algorithm?: 'sha1' | 'sha256';
}

export const stat = defineHostModule<StatArgs>({
  name: 'stat',
  aliases: { dest: 'path', name: 'path' },
  schema: {
    type: 'object',
    properties: {
      path: { type: 'string', minLength: 1 },
      follow: { type: 'boolean' },
      get_checksum: { type: 'boolean' },
      checksum_algorithm: { enum: ['sha1', 'sha256'] },
    },
    required: ['path'],
    additionalProperties: false,
  },
  probe: (args) => ({ path: fileProbe(args.path, { checksum: args.get_checksum ?? true }) }),
  plan(args, facts) {
    const f = facts.path as FileFacts;
    if (!f.exists || !f.inode) return { changes: [], result: { stat: { exists: false } } };
    const inode: Inode = args.follow && f.target ? f.target : f.inode;
    const s: Record<string, unknown> = {
      exists: true,
      path: args.path,
      mode: inode.mode,
      isdir: inode.type === 'directory',
      isreg: inode.type === 'file',
      islnk: inode.type === 'link',
      uid: inode.uid,
      gid: inode.gid,
      pw_name: inode.owner,
      gr_name: inode.group,
      size: inode.size,
      mtime: inode.mtime,
    };
    if (f.linkTarget !== undefined) s.lnk_source = f.linkTarget;
    const sum = args.checksum_algorithm === 'sha256' ? f.sha256 : f.sha1;
    if ((args.get_checksum ?? true) && inode.type === 'file' && sum) s.checksum = sum;
    return { changes: [], result: { stat: s } };
  },
});
