import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import type { StreamSource } from '../transport/types.js';
import { isVaulted } from '../vault/format.js';

/** Controller files larger than this are hashed and sent in chunks, never held whole. */
export const STREAM_FILE_MIN = 8 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/**
 * A big file on the controller (a copy's `src`), known by its size, read in chunks only when
 * it is sent: a 2 GiB copy costs the controller a chunk or two of memory, for any number of
 * hosts. Its checksums are computed only when asked (a host holds a file of the same size to
 * compare with), once per run. Vaulted files are never big files (they are decrypted in
 * memory), so none of these holds a secret.
 */
export class BigFile implements StreamSource {
  private sums?: { sha256: string; sha1: string };

  constructor(
    readonly path: string,
    readonly length: number,
    /** Device, inode, size and mtime when first seen: what it must still be when read. */
    readonly identity: string,
  ) {}

  get sha256(): string {
    return this.checksums().sha256;
  }

  get sha1(): string {
    return this.checksums().sha1;
  }

  private checksums(): { sha256: string; sha1: string } {
    this.sums ??= hashFile(this.path, this.identity);
    return this.sums;
  }

  /**
   * Its bytes, as they were when first seen: a file replaced or changed since (inode, size,
   * mtime), or whose bytes no longer match the checksum already computed, is an error.
   */
  async *chunks(): AsyncIterable<Buffer> {
    const stream = createReadStream(this.path, { highWaterMark: CHUNK });
    // Hashed again only to compare with sums already taken: on the controller's one thread,
    // hashing competes with encrypting the bytes for the connection.
    const hash = this.sums ? createHash('sha256') : undefined;
    let checked = false;
    stream.once('open', (fd: number) => (checked = identityOf(fstatSync(fd)) === this.identity));
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!checked) {
        stream.destroy();
        throw changed(this.path);
      }
      hash?.update(chunk);
      yield chunk;
    }
    if (hash && hash.digest('hex') !== this.sums!.sha256) throw new Error(`${this.path} changed while it was being sent; run again`);
  }
}

const changed = (path: string) => new Error(`${path} changed during the run; run again`);

/** sha256 and sha1 in one pass of 1 MiB reads. */
function hashFile(path: string, identity: string): { sha256: string; sha1: string } {
  const fd = openSync(path, 'r');
  try {
    if (identityOf(fstatSync(fd)) !== identity) throw changed(path);
    const sha256 = createHash('sha256');
    const sha1 = createHash('sha1');
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let n, at = 0; (n = readSync(fd, buf, 0, CHUNK, at)) > 0; at += n) {
      sha256.update(buf.subarray(0, n));
      sha1.update(buf.subarray(0, n));
    }
    return { sha256: sha256.digest('hex'), sha1: sha1.digest('hex') };
  } finally {
    closeSync(fd);
  }
}

const seen = new Map<string, BigFile>();

function identityOf(st: { dev: number; ino: number; size: number; mtimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

/**
 * A controller file's content: a Buffer when it is small (or vaulted: `read` decides), else a
 * BigFile, the same one for every host that copies it.
 */
export function controllerContent(path: string, read: (path: string) => Buffer): Buffer | BigFile {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (st.size < STREAM_FILE_MIN || startsVaulted(fd)) return read(path);
    const identity = identityOf(st);
    const known = seen.get(path);
    if (known?.identity === identity) return known;
    const file = new BigFile(path, st.size, identity);
    seen.set(path, file);
    return file;
  } finally {
    closeSync(fd);
  }
}

/** The vault's own test, on the file's first bytes (a vault file may start with blank lines). */
function startsVaulted(fd: number): boolean {
  const head = Buffer.alloc(4096);
  const n = readSync(fd, head, 0, head.length, 0);
  return isVaulted(head.subarray(0, n).toString('latin1'));
}
