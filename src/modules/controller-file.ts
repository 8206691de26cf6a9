import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import type { StreamSource } from '../transport/types.js';
import { isVaulted } from '../vault/format.js';

/** Controller files larger than this are hashed and sent in chunks, never held whole. */
export const STREAM_FILE_MIN = 8 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/**
 * A big file on the controller (a copy's `src`), known by its size and checksums and read
 * again, in chunks, only when it is sent: a 2 GiB copy costs the controller a chunk or two
 * of memory, for any number of hosts. Vaulted files are never big files (they are decrypted
 * in memory), so none of these holds a secret.
 */
export class BigFile implements StreamSource {
  constructor(
    readonly path: string,
    readonly length: number,
    readonly sha256: string,
    readonly sha1: string,
    /** Device, inode, size and mtime when hashed: what it must still be when sent. */
    readonly identity: string,
  ) {}

  /** Its bytes as they were hashed; a file changed since (size or inode) is an error, not other content. */
  async *chunks(): AsyncIterable<Buffer> {
    const stream = createReadStream(this.path, { highWaterMark: CHUNK });
    const hash = createHash('sha256');
    let fd: number | undefined;
    stream.once('open', (n: number) => (fd = n));
    let first = true;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (first && fd !== undefined && identityOf(fstatSync(fd)) !== this.identity) {
        stream.destroy();
        throw new Error(`${this.path} changed after it was checked; run again`);
      }
      first = false;
      hash.update(chunk);
      yield chunk;
    }
    if (hash.digest('hex') !== this.sha256) throw new Error(`${this.path} changed while it was being sent; run again`);
  }
}

const hashed = new Map<string, BigFile>();

function identityOf(st: { dev: number; ino: number; size: number; mtimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

/**
 * A controller file's content: a Buffer when it is small (or vaulted, `read` decides), else
 * a BigFile, hashed once per run in 1 MiB reads whatever the number of hosts copying it.
 */
export function controllerContent(path: string, read: (path: string) => Buffer): Buffer | BigFile {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (st.size < STREAM_FILE_MIN || startsVaulted(fd)) return read(path);
    const identity = identityOf(st);
    const known = hashed.get(path);
    if (known?.identity === identity) return known;
    const sha256 = createHash('sha256');
    const sha1 = createHash('sha1');
    const buf = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    for (let n; (n = readSync(fd, buf, 0, CHUNK, size)) > 0; size += n) {
      sha256.update(buf.subarray(0, n));
      sha1.update(buf.subarray(0, n));
    }
    const file = new BigFile(path, size, sha256.digest('hex'), sha1.digest('hex'), identityOf({ ...st, size }));
    hashed.set(path, file);
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
