import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { SenexError, type SourcePos } from '../errors.js';
import { decryptVault, isVaulted, VaultDecryptError, VaultFormatError, type VaultSecret } from './format.js';
import { registerSecret } from './redact.js';

/** A vault cannot be opened or read: nothing has run (exit 1, as ansible-playbook). */
export class VaultError extends SenexError {
  constructor(message: string, pos?: SourcePos, hint?: string) {
    super('E_VAULT', message, { pos, hint });
    this.name = 'VaultError';
  }
}

/**
 * The run's vault passwords. Loaded once from the command line before anything is read, so
 * that every file (vars files, group_vars, role defaults, inline `!vault` values, copy
 * sources) is decrypted while loading and a wrong password stops the run before any host
 * is touched.
 */
let keyring: VaultSecret[] = [];

export function setVaultSecrets(secrets: VaultSecret[]): void {
  keyring = secrets;
  for (const s of secrets) registerSecret(s.password);
}

export function vaultSecrets(): readonly VaultSecret[] {
  return keyring;
}

const NO_PASSWORD_HINT = 'give the password with --ask-vault-pass, --vault-password-file FILE, --vault-id LABEL@FILE or SENEX_VAULT_PASSWORD';

/** Decrypts vault text read from `where` (the caller registers what in it is secret). */
export function openVault(text: string, where: SourcePos, what = 'vault'): Buffer {
  try {
    return decryptVault(text, keyring).plaintext;
  } catch (e) {
    if (e instanceof VaultDecryptError) {
      throw new VaultError(`cannot decrypt ${what}: ${e.message}`, where, keyring.length === 0 ? NO_PASSWORD_HINT : 'check the password (or vault id) for this file; `senex-play vault view FILE` tries it without running anything');
    }
    if (e instanceof VaultFormatError) throw new VaultError(`cannot read ${what}: ${e.message}`, where, 'restore the file from version control, or re-encrypt it with `senex-play vault encrypt`');
    throw e;
  }
}

/** A file's content, decrypted (and its text masked from then on) when it is a whole vaulted file. */
export function readMaybeVaulted(file: string): Buffer {
  const raw = readFileSync(file);
  if (!isVaulted(raw)) return raw;
  const plaintext = openVault(raw.toString('utf8'), { file, line: 1, col: 1 }, file);
  registerSecret(plaintext.toString('utf8'));
  return plaintext;
}

/**
 * A password source as Ansible reads them: `prompt`, an executable (its stdout; a
 * `*-client` script gets `--vault-id LABEL`), or a file whose first line is the password.
 */
export async function readPasswordSource(label: string, source: string, ask: (q: string) => Promise<string>, cwd: string): Promise<VaultSecret> {
  if (source === 'prompt') {
    const password = await ask(label === 'default' ? 'Vault password: ' : `Vault password (${label}): `);
    return { label, password, source: 'prompt' };
  }
  const file = resolve(cwd, source);
  let executable = false;
  try {
    if (!statSync(file).isFile()) throw new VaultError(`vault password source ${source} is not a file`);
    try {
      accessSync(file, constants.X_OK);
      executable = true;
    } catch {
      executable = false;
    }
  } catch (e) {
    if (e instanceof VaultError) throw e;
    throw new VaultError(`vault password file not found: ${source}`, undefined, 'give an existing file, an executable that prints the password, or `prompt`');
  }
  let password: string;
  if (executable) {
    const args = /-client(\.\w+)?$/.test(basename(file)) ? ['--vault-id', label] : [];
    try {
      password = execFileSync(file, args, { encoding: 'utf8', stdio: ['inherit', 'pipe', 'inherit'], timeout: 60_000 });
    } catch (e) {
      throw new VaultError(`vault password script ${source} failed: ${(e as Error).message.split('\n')[0]}`);
    }
  } else {
    password = readFileSync(file, 'utf8');
  }
  password = password.replace(/\r?\n$/, '').split(/\r?\n/)[0]!;
  if (password === '') throw new VaultError(`vault password source ${source} gave an empty password`);
  return { label, password, source };
}

/** `label@source`, or just `source` (label `default`), as --vault-id takes it. */
export function parseVaultId(spec: string): { label: string; source: string } {
  const at = spec.indexOf('@');
  if (at < 0) return { label: 'default', source: spec };
  return { label: spec.slice(0, at) || 'default', source: spec.slice(at + 1) };
}

export interface VaultOptions {
  vaultPasswordFiles?: string[];
  vaultIds?: string[];
  askVaultPass?: boolean;
}

/** Every password the command line and environment give, in the order Ansible tries them. */
export async function loadVaultSecrets(o: VaultOptions, env: NodeJS.ProcessEnv, ask: (q: string) => Promise<string>, cwd: string): Promise<VaultSecret[]> {
  const secrets: VaultSecret[] = [];
  for (const spec of o.vaultIds ?? []) {
    const { label, source } = parseVaultId(spec);
    secrets.push(await readPasswordSource(label, source, ask, cwd));
  }
  for (const f of o.vaultPasswordFiles ?? []) secrets.push(await readPasswordSource('default', f, ask, cwd));
  if (o.askVaultPass) secrets.push(await readPasswordSource('default', 'prompt', ask, cwd));
  if (secrets.length === 0 && env.SENEX_VAULT_PASSWORD) secrets.push({ label: 'default', password: env.SENEX_VAULT_PASSWORD, source: '$SENEX_VAULT_PASSWORD' });
  if (secrets.length === 0 && env.ANSIBLE_VAULT_PASSWORD_FILE) secrets.push(await readPasswordSource('default', env.ANSIBLE_VAULT_PASSWORD_FILE, ask, cwd));
  return secrets;
}
