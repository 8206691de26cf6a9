import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The Ansible Vault format, 1.1 and 1.2 (AES256): PBKDF2-HMAC-SHA256 (10000 rounds, 32-byte
 * salt) derives 80 bytes: the AES-256-CTR key, the HMAC-SHA256 key and the counter block.
 * The plaintext is PKCS#7-padded to 16 bytes (CTR needs no padding, but Ansible pads), the
 * HMAC covers the ciphertext, and the body is hex(hex(salt) \n hex(hmac) \n hex(ciphertext))
 * in lines of 80. Written with Node's crypto only: the npm `ansible-vault` package decodes
 * plaintext to a string (binary files are corrupted) and compares HMACs in variable time.
 */

export const VAULT_HEADER = '$ANSIBLE_VAULT';

/** One vault password and the id (label) it belongs to; `default` when none was given. */
export interface VaultSecret {
  label: string;
  password: string;
  /** Where it came from, for messages (a file, a prompt, an environment variable). */
  source: string;
}

export class VaultFormatError extends Error {}
/** No known password opens this vault (a wrong password, or tampered ciphertext). */
export class VaultDecryptError extends Error {}

export interface VaultEnvelope {
  version: '1.1' | '1.2';
  label: string | undefined;
  salt: Buffer;
  hmac: Buffer;
  ciphertext: Buffer;
}

export function isVaulted(text: string | Buffer): boolean {
  const head = (typeof text === 'string' ? text : text.subarray(0, 32).toString('latin1')).trimStart();
  return head.startsWith(`${VAULT_HEADER};`);
}

function deriveKeys(password: string, salt: Buffer): { key: Buffer; hmacKey: Buffer; iv: Buffer } {
  const derived = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, 10000, 80, 'sha256');
  return { key: derived.subarray(0, 32), hmacKey: derived.subarray(32, 64), iv: derived.subarray(64, 80) };
}

/** Encrypts with a fresh salt; a label writes the 1.2 header (`--vault-id label@...`). */
export function encryptVault(plaintext: Buffer | string, secret: Pick<VaultSecret, 'password' | 'label'>, withLabel = secret.label !== 'default'): string {
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const salt = randomBytes(32);
  const { key, hmacKey, iv } = deriveKeys(secret.password, salt);
  const padLength = 16 - (data.length % 16);
  const padded = Buffer.concat([data, Buffer.alloc(padLength, padLength)]);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  const ciphertext = Buffer.concat([cipher.update(padded), cipher.final()]);
  const hmac = createHmac('sha256', hmacKey).update(ciphertext).digest();
  const body = Buffer.from([salt, hmac, ciphertext].map((b) => b.toString('hex')).join('\n'), 'ascii').toString('hex');
  const header = withLabel ? `${VAULT_HEADER};1.2;AES256;${secret.label}` : `${VAULT_HEADER};1.1;AES256`;
  return `${header}\n${body.match(/.{1,80}/g)!.join('\n')}\n`;
}

export function parseVault(text: string): VaultEnvelope {
  const lines = text.trim().split(/\r?\n/).map((l) => l.trim());
  const header = lines.shift()!.split(';');
  if (header[0] !== VAULT_HEADER || header.length < 3) throw new VaultFormatError('not an Ansible Vault header (expected $ANSIBLE_VAULT;1.1;AES256)');
  const version = header[1];
  if (version !== '1.1' && version !== '1.2') throw new VaultFormatError(`unsupported vault format version ${version} (1.1 and 1.2 are supported)`);
  if (header[2] !== 'AES256') throw new VaultFormatError(`unsupported vault cipher ${header[2]} (only AES256 exists)`);
  const hex = lines.join('');
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new VaultFormatError('the vault body is not hex: the file was edited or truncated');
  const parts = Buffer.from(hex, 'hex').toString('ascii').split('\n');
  if (parts.length !== 3 || parts.some((p) => !/^(?:[0-9a-fA-F]{2})+$/.test(p))) throw new VaultFormatError('the vault body is malformed: the file was edited or truncated');
  const [salt, hmac, ciphertext] = parts.map((p) => Buffer.from(p, 'hex')) as [Buffer, Buffer, Buffer];
  if (hmac.length !== 32 || ciphertext.length % 16 !== 0) throw new VaultFormatError('the vault body is malformed: the file was edited or truncated');
  return { version, label: version === '1.2' ? header[3] : undefined, salt, hmac, ciphertext };
}

/** Decrypts with one password; null when the password does not open it (HMAC mismatch). */
export function tryDecrypt(env: VaultEnvelope, password: string): Buffer | null {
  const { key, hmacKey, iv } = deriveKeys(password, env.salt);
  const hmac = createHmac('sha256', hmacKey).update(env.ciphertext).digest();
  if (!timingSafeEqual(hmac, env.hmac)) return null;
  const decipher = createDecipheriv('aes-256-ctr', key, iv);
  const padded = Buffer.concat([decipher.update(env.ciphertext), decipher.final()]);
  const pad = padded[padded.length - 1]!;
  if (pad < 1 || pad > 16 || padded.length < pad) throw new VaultFormatError('bad padding after a valid HMAC: the vault was written by a broken tool');
  return padded.subarray(0, padded.length - pad);
}

/**
 * Opens a vault with the known passwords, as Ansible does: the secrets whose label matches the
 * vault's id first, then every other one.
 */
export function decryptVault(text: string, secrets: readonly VaultSecret[]): { plaintext: Buffer; secret: VaultSecret } {
  const env = parseVault(text);
  if (secrets.length === 0) throw new VaultDecryptError('it is encrypted and no vault password was given');
  const ordered = [...secrets.filter((s) => s.label === env.label), ...secrets.filter((s) => s.label !== env.label)];
  for (const secret of ordered) {
    const plaintext = tryDecrypt(env, secret.password);
    if (plaintext) return { plaintext, secret };
  }
  const tried = ordered.map((s) => `${s.label}@${s.source}`).join(', ');
  throw new VaultDecryptError(`no vault password opens it (tried ${tried}${env.label ? `; it was encrypted with vault id '${env.label}'` : ''}): a wrong password, or the ciphertext was altered`);
}
