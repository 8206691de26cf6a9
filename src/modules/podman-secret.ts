import { createHash } from 'node:crypto';
import { quote } from '../transport/quote.js';
import { defineHostModule } from './types.js';

export interface PodmanSecretArgs {
  name: string;
  data?: string;
  state?: 'present' | 'absent';
  force?: boolean;
  skip_existing?: boolean;
  driver?: string;
  labels?: Record<string, string>;
  executable?: string;
}

interface SecretFacts {
  exists: boolean;
  /** sha256 of the stored value as `podman secret inspect --showsecret` prints it (value + newline). */
  digest: string | null;
}

/**
 * Only a digest of the stored value crosses the wire: the host hashes what podman holds, the
 * controller hashes what the task wants, and the plaintext never appears in a probe's output.
 */
const EMPTY_SHA256 = createHash('sha256').digest('hex');

function digestOf(data: string): string {
  return createHash('sha256').update(`${data}\n`).digest('hex');
}

/**
 * containers.podman.podman_secret for the task's user (become_user: senex for a rootless
 * secret). The value goes to `podman secret create NAME -` on stdin: never on a command line,
 * never in a temp file.
 */
export const podmanSecret = defineHostModule<PodmanSecretArgs>({
  name: 'podman_secret',
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, pattern: '^[^/\\s]+$' },
      data: { type: 'string' },
      state: { enum: ['present', 'absent'] },
      force: { type: 'boolean' },
      skip_existing: { type: 'boolean' },
      driver: { type: 'string', minLength: 1 },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      executable: { type: 'string', minLength: 1 },
    },
    required: ['name'],
    additionalProperties: false,
    if: { properties: { state: { const: 'absent' } }, required: ['state'] },
    else: { required: ['data'] },
  },
  probe: (args) => {
    const podman = quote(args.executable ?? 'podman');
    const name = quote(args.name);
    return {
      secret: {
        // podman < 4.7 has no --showsecret: the digest is then empty and a present secret is
        // replaced only with force (as the Ansible module does on such hosts).
        script:
          `if ${podman} secret exists -- ${name} 2>/dev/null; then echo exists; ` +
          `${podman} secret inspect --showsecret --format '{{.SecretData}}' -- ${name} 2>/dev/null | sha256sum | cut -d' ' -f1; fi`,
        parse: (out): SecretFacts => {
          const [flag, digest] = out.trim().split('\n');
          // sha256 of nothing: inspect failed (old podman), so the stored value is unknown.
          return { exists: flag === 'exists', digest: digest && digest !== EMPTY_SHA256 ? digest : null };
        },
      },
    };
  },
  plan(args, facts) {
    const f = facts.secret as SecretFacts;
    const podman = quote(args.executable ?? 'podman');
    const name = quote(args.name);
    if (args.state === 'absent') {
      if (!f.exists) return { changes: [] };
      return { changes: [{ kind: 'exec', script: `${podman} secret rm -- ${name}`, display: `remove podman secret ${args.name}` }] };
    }
    if (f.exists && args.skip_existing) return { changes: [] };
    if (f.exists && !args.force) {
      if (f.digest === digestOf(args.data!)) return { changes: [] };
      if (f.digest === null) return { changes: [], msg: `podman secret ${args.name} exists and this podman cannot show it to compare; force: true replaces it` };
    }
    const opts = [
      f.exists ? '--replace' : '',
      args.driver ? `--driver ${quote(args.driver)}` : '',
      ...Object.entries(args.labels ?? {}).map(([k, v]) => `--label ${quote(`${k}=${v}`)}`),
    ].filter(Boolean);
    return {
      changes: [
        {
          kind: 'exec',
          script: `${podman} secret create ${opts.join(' ')}${opts.length ? ' ' : ''}-- ${name} -`,
          stdin: args.data!,
          display: `${f.exists ? 'replace' : 'create'} podman secret ${args.name}`,
          diff: { path: `podman secret ${args.name}`, before: null, after: null, hidden: true },
        },
      ],
    };
  },
});
