/**
 * Do third-party roles load? For every role in a directory (and every role of the collections
 * under an `ansible_collections/` tree, by FQCN), writes a one-play playbook that applies it
 * and runs `--syntax-check` under senex-play and under ansible-playbook, then prints per role
 * "ok" or the first error line of each tool, and the counts. The roles are never part of this
 * repository: fetch them elsewhere (e.g. /work/roles-corpus) and point this at them.
 *
 * Usage: node dist/bench/roles-load.js ROLES_DIR [COLLECTIONS_DIR] [--only NAME,NAME]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const BIN = join(REPO, 'bin', 'senex-play.js');

interface Outcome {
  ok: boolean;
  /** The first line that says what went wrong, when it did not load. */
  error: string;
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** Role names: plain roles of `rolesDir`, then `ns.coll.role` for every collection role. */
function roleNames(rolesDir: string, collectionsDir: string | undefined): string[] {
  const plain = readdirSync(rolesDir).filter((n) => isDir(join(rolesDir, n)) && isDir(join(rolesDir, n, 'tasks'))).sort();
  if (!collectionsDir) return plain;
  const root = join(collectionsDir, 'ansible_collections');
  const fqcn: string[] = [];
  for (const ns of isDir(root) ? readdirSync(root).sort() : []) {
    for (const coll of readdirSync(join(root, ns)).sort()) {
      const roles = join(root, ns, coll, 'roles');
      for (const r of isDir(roles) ? readdirSync(roles).sort() : []) {
        if (!r.startsWith('_') && isDir(join(roles, r, 'tasks'))) fqcn.push(`${ns}.${coll}.${r}`);
      }
    }
  }
  return [...plain, ...fqcn];
}

/** The first line of the output that names an error, else the last non-empty line. */
function firstError(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const hit = lines.find((l) => /error|not found|unknown|not supported|unsupported|fatal/i.test(l));
  return (hit ?? lines[lines.length - 1] ?? '').slice(0, 200);
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Outcome {
  const merged = { ...process.env, ...env };
  delete merged.ANSIBLE_CONFIG; // the one in the work directory (none) or the user's, as a user runs it
  const r = spawnSync(cmd, args, { cwd, env: merged, encoding: 'utf8', timeout: 120_000 });
  return { ok: r.status === 0, error: r.status === 0 ? '' : firstError(`${r.stderr}\n${r.stdout}`) };
}

function main(): void {
  const argv = process.argv.slice(2);
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? new Set(argv.splice(onlyAt, 2)[1]!.split(',')) : undefined;
  const [rolesArg, collArg] = argv;
  if (!rolesArg) {
    process.stderr.write('usage: node dist/bench/roles-load.js ROLES_DIR [COLLECTIONS_DIR] [--only NAME,NAME]\n');
    process.exitCode = 5;
    return;
  }
  const rolesDir = resolve(rolesArg);
  const collectionsDir = collArg ? resolve(collArg) : undefined;
  const work = mkdtempSync(join(tmpdir(), 'senex-roles-load-'));
  // roles/ beside the playbook too, so that the measure does not hinge on ANSIBLE_ROLES_PATH alone.
  symlinkSync(rolesDir, join(work, 'roles'));
  const env = { ANSIBLE_ROLES_PATH: rolesDir, ANSIBLE_COLLECTIONS_PATH: collectionsDir ?? '', ANSIBLE_NOCOLOR: '1', NO_COLOR: '1' };
  let senexOk = 0;
  let ansibleOk = 0;
  let total = 0;
  try {
    for (const name of roleNames(rolesDir, collectionsDir)) {
      if (only && !only.has(name)) continue;
      total++;
      const playbook = join(work, `${name}.yml`);
      writeFileSync(playbook, `- hosts: all\n  gather_facts: false\n  roles:\n    - ${JSON.stringify(name)}\n`);
      const senex = run(process.execPath, [BIN, playbook, '-i', 'localhost,', '-c', 'local', '--syntax-check'], work, env);
      const ansible = run('ansible-playbook', ['-i', 'localhost,', '-c', 'local', '--syntax-check', playbook], work, env);
      if (senex.ok) senexOk++;
      if (ansible.ok) ansibleOk++;
      const show = (o: Outcome) => (o.ok ? 'ok' : `FAIL ${o.error}`);
      process.stdout.write(`${name}\n  senex-play:       ${show(senex)}\n  ansible-playbook: ${show(ansible)}\n`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(`\nload ok: senex-play ${senexOk}/${total}, ansible-playbook ${ansibleOk}/${total}\n`);
}

main();
