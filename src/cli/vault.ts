import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ExitCode, formatError, OptionsError } from '../errors.js';
import { decryptVault, encryptVault, isVaulted, VaultDecryptError, VaultFormatError, type VaultSecret } from '../vault/format.js';
import { loadVaultSecrets, parseVaultId, readPasswordSource, VaultError } from '../vault/keyring.js';
import type { CliIO } from './main.js';
import { askHidden } from './prompt.js';

interface VaultCliOptions {
  vaultId?: string[];
  vaultPasswordFile?: string[];
  askVaultPass?: boolean;
  encryptVaultId?: string;
  newVaultId?: string;
  newVaultPasswordFile?: string;
  output?: string;
  name?: string[];
  stdinName?: string;
}

const collect = (value: string, prev: string[] = []) => [...prev, value];

/**
 * Plaintext being edited lives in a private directory (0700, file 0600), on tmpfs when the
 * machine has one, and is removed in `finally`, whatever the editor did.
 */
function privateTempDir(): string {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  return mkdtempSync(join(base, 'senex-vault-'));
}

/** Replaces a file atomically, keeping its mode (0600 for new files). */
function writeAtomic(file: string, content: string | Buffer): void {
  const mode = existsSync(file) ? statSync(file).mode & 0o777 : 0o600;
  const tmp = join(dirname(file), `.${basename(file)}.senex-tmp-${process.pid}`);
  try {
    writeFileSync(tmp, content, { mode });
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function decryptFile(file: string, secrets: VaultSecret[]): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new VaultError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (!isVaulted(text)) throw new VaultError(`${file} is not vault-encrypted`, undefined, 'encrypt it with `senex-play vault encrypt`');
  try {
    return decryptVault(text, secrets).plaintext;
  } catch (e) {
    if (e instanceof VaultDecryptError || e instanceof VaultFormatError) throw new VaultError(`cannot decrypt ${file}: ${e.message}`, { file, line: 1, col: 1 });
    throw e;
  }
}

/** Runs $EDITOR (or $VISUAL, else vi) on plaintext; returns what was saved. */
function editPlaintext(plaintext: Buffer, env: NodeJS.ProcessEnv, name: string): Buffer {
  const dir = privateTempDir();
  try {
    const file = join(dir, basename(name));
    writeFileSync(file, plaintext, { mode: 0o600 });
    const editor = env.EDITOR || env.VISUAL || 'vi';
    const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'editor', file], { stdio: 'inherit', env });
    if (r.error || r.status !== 0) throw new VaultError(`the editor (${editor}) ${r.error ? `could not run: ${r.error.message}` : `exited with ${r.status ?? r.signal}`}; the vault file was left as it was`);
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function encryptingSecret(secrets: VaultSecret[], wanted: string | undefined): VaultSecret {
  if (secrets.length === 0) throw new OptionsError('no vault password given', 'use --ask-vault-pass, --vault-password-file FILE, --vault-id LABEL@SOURCE or SENEX_VAULT_PASSWORD');
  if (wanted === undefined) {
    if (secrets.length > 1) throw new OptionsError('several vault ids given: say which one encrypts with --encrypt-vault-id LABEL');
    return secrets[0]!;
  }
  const s = secrets.find((x) => x.label === wanted);
  if (!s) throw new OptionsError(`--encrypt-vault-id ${wanted} names no given vault id (given: ${secrets.map((x) => x.label).join(', ')})`);
  return s;
}

/** An encrypted string as a YAML value: `name: !vault |` and the indented vault text. */
export function vaultYaml(name: string | undefined, vaultText: string): string {
  const body = vaultText.trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
  return name === undefined ? `!vault |\n${body}\n` : `${name}: !vault |\n${body}\n`;
}

function vaultProgram(io: CliIO, run: (action: string, args: string[], o: VaultCliOptions) => Promise<void>): Command {
  const program = new Command('senex-play vault')
    .description('Ansible-Vault-compatible encryption (1.1 and 1.2 with vault ids)')
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .exitOverride();
  const withPasswords = (c: Command) =>
    c
      .option('--vault-id <label@source>', 'a vault id: source is a file, an executable or "prompt" (repeatable)', collect)
      .option('--vault-password-file <file>', 'file (or executable) holding the password (repeatable)', collect)
      .option('-J, --ask-vault-pass', 'ask for the vault password');
  const action = (name: string) => async (...a: unknown[]) => {
    const cmd = a.at(-1) as Command;
    await run(name, cmd.args, cmd.opts<VaultCliOptions>());
  };
  withPasswords(program.command('create <file>').description('create a new encrypted file with $EDITOR')).option('--encrypt-vault-id <label>', 'the vault id to encrypt with').action(action('create'));
  withPasswords(program.command('edit <file>').description('edit an encrypted file with $EDITOR; plaintext never stays on disk')).option('--encrypt-vault-id <label>', 'the vault id to encrypt with').action(action('edit'));
  withPasswords(program.command('view <file...>').description('print decrypted files')).action(action('view'));
  withPasswords(program.command('encrypt <file...>').description('encrypt files in place (or to --output)'))
    .option('--encrypt-vault-id <label>', 'the vault id to encrypt with')
    .option('--output <file>', 'write here instead ("-" for stdout)')
    .action(action('encrypt'));
  withPasswords(program.command('decrypt <file...>').description('decrypt files in place (or to --output)')).option('--output <file>', 'write here instead ("-" for stdout)').action(action('decrypt'));
  withPasswords(program.command('rekey <file...>').description('re-encrypt files with a new password'))
    .option('--new-vault-id <label@source>', 'the new vault id')
    .option('--new-vault-password-file <file>', 'the new password file')
    .action(action('rekey'));
  withPasswords(program.command('encrypt-string [value...]').description('encrypt values for pasting into YAML (`name: !vault |`); reads stdin without values'))
    .option('--encrypt-vault-id <label>', 'the vault id to encrypt with')
    .option('-n, --name <name>', 'variable name for each value (repeatable)', collect)
    .option('--stdin-name <name>', 'variable name for the value read from stdin')
    .action(action('encrypt-string'));
  return program;
}

function readStdin(): string {
  return readFileSync(0, 'utf8');
}

/** `senex-play vault ...`; returns the exit code. */
export async function vaultMain(argv: string[], io: CliIO): Promise<number> {
  const out = (s: string) => void io.stdout.write(s);
  const ask = (q: string) => askHidden(q);
  const run = async (action: string, args: string[], o: VaultCliOptions) => {
    const secrets = await loadVaultSecrets({ vaultIds: o.vaultId, vaultPasswordFiles: o.vaultPasswordFile, askVaultPass: o.askVaultPass }, io.env, ask, io.cwd);
    const files = args.map((f) => resolve(io.cwd, f));
    switch (action) {
      case 'create': {
        const file = files[0]!;
        if (existsSync(file)) throw new VaultError(`${args[0]} already exists`, undefined, 'use `senex-play vault edit` to change it');
        const secret = encryptingSecret(secrets, o.encryptVaultId);
        const content = editPlaintext(Buffer.alloc(0), io.env, file);
        writeAtomic(file, encryptVault(content, secret));
        return;
      }
      case 'edit': {
        const file = files[0]!;
        const before = decryptFile(file, secrets);
        const secret = o.encryptVaultId ? encryptingSecret(secrets, o.encryptVaultId) : decryptVault(readFileSync(file, 'utf8'), secrets).secret;
        const after = editPlaintext(before, io.env, file);
        if (!after.equals(before)) writeAtomic(file, encryptVault(after, secret));
        return;
      }
      case 'view':
        for (const f of files) out(decryptFile(f, secrets).toString('utf8'));
        return;
      case 'encrypt': {
        const secret = encryptingSecret(secrets, o.encryptVaultId);
        for (const f of files) {
          const content = readFileSync(f);
          if (isVaulted(content)) throw new VaultError(`${f} is already encrypted`);
          const text = encryptVault(content, secret);
          if (o.output === '-') out(text);
          else writeAtomic(o.output ? resolve(io.cwd, o.output) : f, text);
        }
        if (o.output !== '-') io.stderr.write('Encryption successful\n');
        return;
      }
      case 'decrypt':
        for (const f of files) {
          const plain = decryptFile(f, secrets);
          if (o.output === '-') out(plain.toString('utf8'));
          else writeAtomic(o.output ? resolve(io.cwd, o.output) : f, plain);
        }
        if (o.output !== '-') io.stderr.write('Decryption successful\n');
        return;
      case 'rekey': {
        let next: VaultSecret;
        if (o.newVaultId) {
          const { label, source } = parseVaultId(o.newVaultId);
          next = await readPasswordSource(label, source, ask, io.cwd);
        } else if (o.newVaultPasswordFile) next = await readPasswordSource('default', o.newVaultPasswordFile, ask, io.cwd);
        else next = await readPasswordSource('default', 'prompt', (q) => ask(`New ${q}`), io.cwd);
        for (const f of files) writeAtomic(f, encryptVault(decryptFile(f, secrets), next));
        io.stderr.write('Rekey successful\n');
        return;
      }
      case 'encrypt-string': {
        const secret = encryptingSecret(secrets, o.encryptVaultId);
        const names = o.name ?? [];
        if (args.length === 0) {
          out(vaultYaml(o.stdinName, encryptVault(readStdin(), secret)));
          return;
        }
        args.forEach((value, i) => out(`${i ? '\n' : ''}${vaultYaml(names[i], encryptVault(value, secret))}`));
        return;
      }
    }
  };
  try {
    await vaultProgram(io, run).parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.ok : ExitCode.badOptions;
    io.stderr.write(`${formatError(e)}\n`);
    return e instanceof OptionsError ? ExitCode.badOptions : ExitCode.error;
  }
}
