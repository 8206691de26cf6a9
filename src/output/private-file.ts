import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { SenexError } from '../errors.js';

/**
 * Writes a file only its owner can read (a run report), without trusting the directory:
 * the content goes to a fresh name opened O_CREAT|O_EXCL|O_NOFOLLOW with mode 0600, so a
 * file or symlink planted there in advance is never written through, then rename() puts it
 * in place, which replaces a symlink at the target instead of following it. A reader sees
 * the old file or the whole new one, never a part.
 */
export async function writePrivateFile(path: string, content: string, what: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  try {
    const handle = await open(temp, flags, 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    // The temp name is ours, not the user's: say what is wrong with their path instead.
    const reason =
      code === 'ENOENT' ? `directory ${dirname(path)} does not exist` : code === 'EACCES' ? `no permission to write in ${dirname(path)}` : code === 'EISDIR' ? 'it is a directory' : e instanceof Error ? e.message : String(e);
    throw new SenexError('E_REPORT_WRITE', `cannot write the ${what} ${path}: ${reason}`, { hint: 'give a path in a directory you can write (the run itself is over; its output above stands)' });
  }
}
