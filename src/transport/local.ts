import { spawn } from 'node:child_process';
import { waitDrain, type ShellChannel } from './remote-shell.js';
import { ShellTransport } from './shell-transport.js';

/**
 * Variables that hold senex-play's own secrets (the vault password for CI, the SSH key
 * passphrase): commands run by the local connection never see them. ANSIBLE_VAULT_PASSWORD_FILE
 * stays, as Ansible keeps it: it names a file the same user can read anyway, it is no secret.
 */
const CONTROLLER_SECRETS = ['SENEX_VAULT_PASSWORD', 'SENEX_SSH_PASSPHRASE'];

function commandEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of CONTROLLER_SECRETS) delete env[name];
  return env;
}

/** `connection: local`: the same persistent-shell protocol, over a child process's stdio. */
export class LocalTransport extends ShellTransport {
  private readonly children = new Set<ReturnType<typeof spawn>>();

  protected async openChannel(argv: string[] | null): Promise<ShellChannel> {
    const [cmd, ...args] = argv ?? ['sh'];
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'], env: commandEnv() });
    this.children.add(child);
    let closeCb: (reason: string) => void = () => {};
    let closed = false;
    const end = (reason: string): void => {
      if (closed) return;
      closed = true;
      this.children.delete(child);
      closeCb(reason);
    };
    child.on('error', (e) => end(`cannot start ${cmd}: ${e.message}`));
    child.on('exit', (code, signal) => end(signal ? `shell killed by ${signal}` : `shell exited with ${code}`));
    child.stdin.on('error', () => undefined); // EPIPE after the shell died is reported by 'exit'
    return {
      write: (data) => child.stdin.write(data),
      drained: () => waitDrain(child.stdin),
      onData: (cb) => void child.stdout.on('data', cb),
      onStderr: (cb) => void child.stderr.on('data', cb),
      onClose: (cb) => {
        closeCb = cb;
      },
      close: () => {
        child.stdin.end();
      },
    };
  }

  protected async closeConnection(): Promise<void> {
    await Promise.all(
      [...this.children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }
}
