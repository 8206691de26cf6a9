import { createHash } from 'node:crypto';
import { attrsChangeFor, isEmpty, wantedAttrs, type AttrArgs } from './attrs.js';
import { effectiveInode, type FileFacts } from './facts/file.js';
import { BigFile } from './controller-file.js';
import type { Change, Plan } from './types.js';

export interface WriteOptions {
  validate?: string | undefined;
  backup?: boolean | undefined;
  /** Write through a symlink at `path` (lineinfile) instead of replacing it (copy). */
  follow?: boolean | undefined;
}

/**
 * The one place that decides how a file's wanted content becomes changes: nothing if it
 * already matches, an attribute fix if only those differ, else one atomic write.
 */
export function planContent(facts: FileFacts, content: Buffer | BigFile, attrArgs: AttrArgs, opts: WriteOptions = {}): Plan {
  const follow = opts.follow ?? false;
  const inode = effectiveInode(facts, follow);
  if (inode?.type === 'directory') return { changes: [], failed: `${facts.path} is a directory, not a file` };
  const path = follow && facts.inode?.type === 'link' && facts.linkTarget ? resolveLink(facts.path, facts.linkTarget) : facts.path;
  const attrs = wantedAttrs(attrArgs, inode, false);
  const same = inode?.type === 'file' && sameContent(facts, inode.size, content);
  if (same) return { changes: attrsChangeFor(path, inode, attrs) };
  const before = inode?.type === 'file' ? facts.content : null;
  const change: Change = { kind: 'write', path, content, before, attrs: isEmpty(attrs) ? {} : attrs, validate: opts.validate, backup: opts.backup };
  return { changes: [change] };
}

/**
 * Whether the file holds exactly `content`: by its bytes when they were fetched, else its
 * sha256. A big file of another size differs without being read.
 */
function sameContent(facts: FileFacts, size: number, content: Buffer | BigFile): boolean {
  if (content instanceof BigFile) return size === content.length && facts.sha256 === content.sha256;
  return facts.content ? facts.content.equals(content) : facts.sha256 === sha256(content);
}

function resolveLink(path: string, target: string): string {
  if (target.startsWith('/')) return target;
  return `${path.slice(0, path.lastIndexOf('/') + 1)}${target}`;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Text editors (lineinfile, blockinfile, replace) need the current content. */
export function currentText(facts: FileFacts): { text?: string; error?: string } {
  if (!facts.exists) return {};
  if (facts.tooLarge) return { error: `${facts.path} is too large to edit in place` };
  const inode = effectiveInode(facts, true);
  if (inode?.type !== 'file') return { error: `${facts.path} is not a regular file` };
  if (!facts.content) return { error: `${facts.path} is not readable` };
  return { text: facts.content.toString('utf8') };
}
