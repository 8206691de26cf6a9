import { shellJoin } from '../transport/quote.js';
import { defineHostModule, mergeableProbe, ModuleError, type Change, type Probe, type ProbeKind } from './types.js';

export interface AptArgs {
  name?: string | string[];
  state?: 'present' | 'installed' | 'absent' | 'removed' | 'latest';
  update_cache?: boolean;
  cache_valid_time?: number;
  install_recommends?: boolean;
  purge?: boolean;
  lock_timeout?: number;
}

interface PackageState {
  installed?: string;
  candidate?: string;
}

/** How long we wait for another apt/dpkg to let go of the lock (seconds), by default. */
export const DPKG_LOCK_TIMEOUT = 120;

/**
 * What an apt task may name: a Debian package name (policy 5.6.1: lower-case letters, digits,
 * `+ - .`, at least two characters, starting alphanumeric), optionally `:ARCH`, then
 * `=VERSION` (`*` as a wildcard) or `/RELEASE`; or a path to a `.deb`. Anything else, above
 * all a name starting with `-` (`-oDPkg::Pre-Invoke::=CMD` ran CMD as root), is refused.
 */
const PACKAGE_SPEC = /^(?:[a-z0-9][a-z0-9+.-]+(?::[a-z0-9][a-z0-9-]*)?(?:=[A-Za-z0-9.+~:*-]+|\/[A-Za-z0-9.+~_-]+)?|\.{0,2}\/[^\s]*\.deb)$/;

function names(args: AptArgs): string[] {
  const list = args.name === undefined ? [] : Array.isArray(args.name) ? args.name : String(args.name).split(',');
  const specs = list.map((n) => String(n).trim()).filter(Boolean);
  for (const spec of specs) {
    if (!PACKAGE_SPEC.test(spec)) {
      throw new ModuleError(
        `${JSON.stringify(spec)} is not a package name (Debian's rules: lower-case letters, digits, + - . and at least two characters, ` +
          'optionally :ARCH and =VERSION or /RELEASE) nor a path to a .deb: fix the name',
      );
    }
  }
  return specs;
}

/** `nginx=1.26*` -> name and version pattern; `nginx/bookworm-backports` -> name. */
function splitVersion(spec: string): { name: string; version?: string } {
  if (spec.endsWith('.deb')) return { name: spec };
  const slash = spec.indexOf('/');
  if (slash > 0) return { name: spec.slice(0, slash) };
  const i = spec.indexOf('=');
  return i < 0 ? { name: spec } : { name: spec.slice(0, i), version: spec.slice(i + 1) };
}

/** The packages one apt task asks about, and whether it needs their candidates (`latest`). */
interface PackageQuery {
  pkgs: string[];
  candidates: boolean;
}

/**
 * Installed versions from dpkg-query (never apt), and candidates only when `latest` needs
 * them. The apt tasks of a batch share one dpkg-query (and one apt-cache) for all their
 * packages: each reads the whole dpkg status file, whatever it is asked.
 */
const PACKAGES: ProbeKind<PackageQuery> = {
  id: 'packages',
  script(queries) {
    const all = [...new Set(queries.flatMap((q) => q.pkgs))];
    const latest = [...new Set(queries.filter((q) => q.candidates).flatMap((q) => q.pkgs))];
    return [
      `dpkg-query -W -f='I\\t\${Package}\\t\${db:Status-Status}\\t\${Version}\\n' -- ${shellJoin(all)} 2>/dev/null`,
      latest.length ? `LC_ALL=C apt-cache policy -- ${shellJoin(latest)} 2>/dev/null | awk '/^[^ ]/{p=$1; sub(":$","",p)} /Candidate:/{print "C\\t" p "\\t" $2}'` : '',
      'true',
    ]
      .filter(Boolean)
      .join('\n');
  },
  parse(out, queries) {
    const state: Record<string, PackageState> = {};
    for (const line of out.split('\n')) {
      const f = line.split('\t');
      if (f[0] === 'I' && f[2] === 'installed') (state[f[1]!] ??= {}).installed = f[3];
      if (f[0] === 'C' && f[2] && f[2] !== '(none)') (state[f[1]!] ??= {}).candidate = f[2];
    }
    // Each task sees its own packages only (and candidates only if it asked for them).
    const mine = (q: PackageQuery) =>
      Object.fromEntries(q.pkgs.filter((n) => state[n]).map((n) => [n, q.candidates ? { ...state[n] } : { installed: state[n]!.installed }]));
    return new Map(queries.map((q) => [PACKAGES.key(q), mine(q)]));
  },
  key: (q) => JSON.stringify([q.pkgs, q.candidates]),
};

/** Seconds since the package lists were last updated (Infinity if never). */
const cacheAgeProbe: Probe<number> = {
  script: 'now=$(date +%s); t=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null || stat -c %Y /var/lib/apt/lists 2>/dev/null || echo 0); echo $((now - t))',
  parse: (out) => Number(out.trim()),
};

function versionMatches(installed: string | undefined, wanted: string | undefined): boolean {
  if (installed === undefined) return false;
  if (wanted === undefined) return true;
  const re = new RegExp(`^${wanted.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return re.test(installed);
}

function aptGet(args: AptArgs, words: string[]): string {
  const timeout = args.lock_timeout ?? DPKG_LOCK_TIMEOUT;
  return [
    'export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a',
    // apt waits for the dpkg lock itself; if it gives up, say so plainly.
    `out=$(apt-get -q -y -o DPkg::Lock::Timeout=${timeout} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold ${shellJoin(words)} 2>&1); rc=$?`,
    `if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q 'Could not get lock'; then echo "the dpkg lock was held by another process for more than ${timeout} s" >&2; fi`,
    'printf "%s\\n" "$out"; exit $rc',
  ].join('\n');
}

export const apt = defineHostModule<AptArgs>({
  name: 'apt',
  aliases: { pkg: 'name', package: 'name', 'update-cache': 'update_cache' },
  schema: {
    type: 'object',
    properties: {
      name: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      state: { enum: ['present', 'installed', 'absent', 'removed', 'latest'] },
      update_cache: { type: 'boolean' },
      cache_valid_time: { type: 'integer', minimum: 0 },
      install_recommends: { type: 'boolean' },
      purge: { type: 'boolean' },
      lock_timeout: { type: 'integer', minimum: 0 },
    },
    additionalProperties: false,
    anyOf: [{ required: ['name'] }, { required: ['update_cache'] }],
  },
  probe(args) {
    const pkgs = names(args).map((p) => splitVersion(p).name);
    const probes: Record<string, Probe> = {};
    if (pkgs.length) probes.packages = mergeableProbe(PACKAGES, { pkgs, candidates: args.state === 'latest' });
    if (args.update_cache && args.cache_valid_time !== undefined) probes.cacheAge = cacheAgeProbe;
    return probes;
  },
  plan(args, facts) {
    const changes: Change[] = [];
    const state = (facts.packages ?? {}) as Record<string, PackageState>;
    const wanted = names(args).map((spec) => ({ ...splitVersion(spec), spec }));
    if (args.update_cache && (args.cache_valid_time === undefined || (facts.cacheAge as number) > args.cache_valid_time)) {
      changes.push({ kind: 'exec', script: aptGet(args, ['update']), display: 'apt-get update' });
    }
    const removing = args.state === 'absent' || args.state === 'removed';
    if (removing) {
      const present = wanted.filter((p) => state[p.name]?.installed !== undefined).map((p) => p.name);
      if (present.length) changes.push({ kind: 'exec', script: aptGet(args, [args.purge ? 'purge' : 'remove', '--', ...present]), display: `remove ${present.join(', ')}` });
      return { changes, result: { removed: present } };
    }
    const install = wanted
      .filter((p) => {
        const s = state[p.name];
        if (!versionMatches(s?.installed, p.version)) return true;
        return args.state === 'latest' && s?.candidate !== undefined && s.candidate !== s.installed;
      })
      .map((p) => p.spec);
    if (install.length) {
      const recommends = args.install_recommends === undefined ? [] : [args.install_recommends ? '--install-recommends' : '--no-install-recommends'];
      changes.push({ kind: 'exec', script: aptGet(args, ['install', ...recommends, '--', ...install]), display: `install ${install.join(', ')}` });
    }
    return { changes, result: { installed: install } };
  },
});

/**
 * `package` hands its arguments to the system's package module (apt here), so a role may
 * give ones other systems' modules take (enablerepo for yum): they load, and fail as apt
 * fails on them only where such a task runs.
 */
export const packageModule = defineHostModule<AptArgs & Record<string, unknown>>({
  ...apt,
  name: 'package',
  schema: { ...(apt.schema as Record<string, unknown>), additionalProperties: true },
  plan(args, facts, ctx) {
    const known = Object.keys((apt.schema as { properties: Record<string, unknown> }).properties);
    const extra = Object.keys(args).filter((k) => !known.includes(k) && k !== 'use');
    if (extra.length) return { changes: [], failed: `Unsupported parameters for (apt) module: ${extra.sort().join(', ')}. Supported parameters include: ${known.sort().join(', ')}.` };
    return apt.plan(args, facts, ctx);
  },
});
