import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** OpenSSH's name for a host in known_hosts: `host`, or `[host]:port` off port 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:...` as `ssh-keygen -lf` prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (e.g. ssh-ed25519). */
export function keyType(keyBlob: Buffer): string {
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

interface Entry {
  file: string;
  line: number;
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  type: string;
  key: string;
}

export type HostKeyVerdict =
  | { ok: true; entry: Entry }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'changed'; entry: Entry }
  | { ok: false; reason: 'revoked'; entry: Entry };

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

/** OpenSSH's hashed host field: `|1|` base64(20-byte salt) `|` base64(HMAC-SHA1(salt, name)). */
export function hashedHostField(name: string, salt: Buffer = randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${hmacName(salt, name)}`;
}

function hmacName(salt: Buffer, name: string): string {
  return createHmac('sha1', salt).update(name).digest('base64');
}

/** Does a known_hosts host field (plain list with wildcards/negation, or |1| hashed) name this host? */
function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt = '', hash = ''] = field.split('|');
    return hmacName(Buffer.from(salt, 'base64'), name) === hash;
  }
  let matched = false;
  for (const p of field.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) matched = true;
  }
  return matched;
}

function parse(file: string): Entry[] {
  if (!existsSync(file)) return [];
  const entries: Entry[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const words = line.split(/\s+/);
      const marker = words[0]!.startsWith('@') ? (words.shift() as Entry['marker']) : undefined;
      const [patterns, type, key] = words;
      if (!patterns || !type || !key) return;
      entries.push({ file, line: i + 1, marker, patterns, type, key });
    });
  return entries;
}

/**
 * known_hosts as OpenSSH reads it: every file, hashed and plain names, wildcards,
 * negation, @revoked. A key is trusted if some entry for the host has exactly it.
 */
export class KnownHosts {
  constructor(readonly files: string[]) {}

  check(name: string, keyBlob: Buffer): HostKeyVerdict {
    const blob = keyBlob.toString('base64');
    const type = keyType(keyBlob);
    const all = this.files.flatMap(parse);
    const revoked = all.find((e) => e.marker === '@revoked' && e.key === blob);
    if (revoked) return { ok: false, reason: 'revoked', entry: revoked };
    const forHost = all.filter((e) => e.marker === undefined && hostFieldMatches(e.patterns, name));
    const match = forHost.find((e) => e.key === blob);
    if (match) return { ok: true, entry: match };
    // A different key of the same type is a changed key; one of another type only means
    // we have not seen this type yet (OpenSSH treats that as unknown, too).
    const changed = forHost.find((e) => e.type === type);
    if (changed) return { ok: false, reason: 'changed', entry: changed };
    return { ok: false, reason: 'unknown' };
  }

  /**
   * Records a key (accept-new); never replaces an existing line. `hashed` follows the user's
   * HashKnownHosts, so the file does not list the hosts this machine manages in clear.
   */
  add(name: string, keyBlob: Buffer, opts: { hashed?: boolean } = {}): string {
    const file = this.files[0]!;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const needsNewline = existsSync(file) && !/(^|\n)$/.test(readFileSync(file, 'utf8'));
    const field = opts.hashed ? hashedHostField(name) : name;
    appendFileSync(file, `${needsNewline ? '\n' : ''}${field} ${keyType(keyBlob)} ${keyBlob.toString('base64')}\n`, { mode: 0o600 });
    return file;
  }
}
