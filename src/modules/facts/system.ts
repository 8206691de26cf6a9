import type { Probe } from '../types.js';

/**
 * The facts `gather_facts` collects in one command: a documented subset of Ansible's
 * (see docs/modules.md, "Facts"). Anything the host cannot tell is left undefined, never guessed.
 */
export function systemFactsProbe(): Probe<Record<string, unknown>> {
  // Shell builtins read what files hold (no process), and each program runs once with its
  // raw output parsed here: on a converged host this script was 15 of a run's ~150
  // processes, now it is 6. Every line is key=value, read by parseSystemFacts.
  const script = [
    'if read -r h < /proc/sys/kernel/hostname; then printf "hostname=%s\\n" "$h"; else printf "hostname=%s\\n" "$(hostname)"; fi 2>/dev/null',
    'printf "fqdn=%s\\n" "$(hostname -f 2>/dev/null)"',
    'printf "uname=%s\\n" "$(uname -rm)"',
    'printf "id=%s\\n" "$(LC_ALL=C id)"',
    'printf "nproc=%s\\n" "$(nproc 2>/dev/null)"',
    'while read -r k v _; do [ "$k" = MemTotal: ] && printf "memtotal_kb=%s\\n" "$v" && break; done 2>/dev/null < /proc/meminfo',
    'if [ -r /etc/os-release ]; then while IFS= read -r l || [ -n "$l" ]; do printf "os_%s\\n" "$l"; done < /etc/os-release; fi',
    'if read -r v < /etc/debian_version; then printf "debian_version=%s\\n" "$v"; fi 2>/dev/null',
    'command -v apt-get >/dev/null 2>&1 && echo pkg_mgr=apt',
    'command -v dnf >/dev/null 2>&1 && echo pkg_mgr=dnf',
    '[ -d /run/systemd/system ] && echo service_mgr=systemd',
    'command -v systemctl >/dev/null 2>&1 && systemctl --version 2>/dev/null | { read -r _ v _; printf "systemd_version=%s\\n" "$v"; }',
    'command -v ip >/dev/null 2>&1 && ip -4 route get 198.18.0.0 2>/dev/null | { read -r l; printf "route4=%s\\n" "$l"; }',
  ].join('\n');
  return { script, parse: parseSystemFacts };
}

function unquote(v: string): string {
  return v.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
}

/** Turns the probe's `key=value` lines into Ansible-named facts. */
export function parseSystemFacts(out: string): Record<string, unknown> {
  const raw: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && line.slice(i + 1) !== '') raw[line.slice(0, i)] ??= unquote(line.slice(i + 1));
  }
  const facts: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined && v !== '' && !(typeof v === 'number' && Number.isNaN(v))) facts[k] = v;
  };
  set('hostname', raw.hostname?.split('.')[0]);
  set('nodename', raw.hostname);
  set('fqdn', raw.fqdn || raw.hostname);
  // `uname -rm`: the kernel release, then the machine.
  const [kernel, architecture] = (raw.uname ?? '').split(' ');
  set('architecture', architecture);
  set('kernel', kernel);
  set('system', 'Linux');
  // `id`: uid=1000(deploy) gid=...; the name is missing for a uid with no passwd entry.
  const id = /^uid=(\d+)(?:\(([^)]*)\))?/.exec(raw.id ?? '');
  set('user_id', id?.[2]);
  set('user_uid', id ? Number(id[1]) : undefined);
  set('processor_vcpus', raw.nproc === undefined ? undefined : Number(raw.nproc));
  set('memtotal_mb', raw.memtotal_kb === undefined ? undefined : Math.floor(Number(raw.memtotal_kb) / 1024));
  const os = raw.os_ID;
  const names: Record<string, string> = { debian: 'Debian', ubuntu: 'Ubuntu', fedora: 'Fedora', centos: 'CentOS', rhel: 'RedHat' };
  set('distribution', os ? (names[os] ?? raw.os_NAME) : undefined);
  // Debian's point release (12.7) lives in /etc/debian_version; os-release says only 12.
  const version = os === 'debian' && raw.debian_version && /^\d/.test(raw.debian_version) ? raw.debian_version : raw.os_VERSION_ID;
  set('distribution_version', version);
  set('distribution_major_version', version?.split('.')[0]);
  set('distribution_release', raw.os_VERSION_CODENAME);
  const like = `${os ?? ''} ${raw.os_ID_LIKE ?? ''}`;
  set('os_family', /debian|ubuntu/.test(like) ? 'Debian' : /rhel|fedora|centos/.test(like) ? 'RedHat' : undefined);
  set('pkg_mgr', raw.pkg_mgr);
  set('service_mgr', raw.service_mgr);
  set('systemd_version', raw.systemd_version);
  // `ip -4 route get`: "198.18.0.0 via 198.18.0.1 dev eth0 src 198.18.0.12 uid 0".
  const address = / src ([0-9.]+)/.exec(raw.route4 ?? '')?.[1];
  if (address) facts.default_ipv4 = { address };
  return facts;
}
