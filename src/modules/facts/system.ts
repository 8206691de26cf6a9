import type { Probe } from '../types.js';

/**
 * The facts `gather_facts` collects in one command: a documented subset of Ansible's
 * (see README "Facts"). Anything the host cannot tell is left undefined, never guessed.
 */
export function systemFactsProbe(): Probe<Record<string, unknown>> {
  const script = [
    'printf "hostname=%s\\n" "$(hostname 2>/dev/null || cat /etc/hostname 2>/dev/null)"',
    'printf "fqdn=%s\\n" "$(hostname -f 2>/dev/null)"',
    'printf "architecture=%s\\n" "$(uname -m)"',
    'printf "kernel=%s\\n" "$(uname -r)"',
    'printf "user_id=%s\\n" "$(id -un)"',
    'printf "user_uid=%s\\n" "$(id -u)"',
    'printf "nproc=%s\\n" "$(nproc 2>/dev/null)"',
    'printf "memtotal_kb=%s\\n" "$(sed -n "s/^MemTotal: *\\([0-9]*\\) kB/\\1/p" /proc/meminfo 2>/dev/null)"',
    'if [ -r /etc/os-release ]; then sed -n "s/^\\(ID\\|VERSION_ID\\|VERSION_CODENAME\\|ID_LIKE\\|NAME\\)=/os_\\1=/p" /etc/os-release; fi',
    'if [ -r /etc/debian_version ]; then printf "debian_version=%s\\n" "$(cat /etc/debian_version)"; fi',
    'command -v apt-get >/dev/null 2>&1 && echo pkg_mgr=apt',
    'command -v dnf >/dev/null 2>&1 && echo pkg_mgr=dnf',
    '[ -d /run/systemd/system ] && echo service_mgr=systemd',
    'command -v systemctl >/dev/null 2>&1 && printf "systemd_version=%s\\n" "$(systemctl --version 2>/dev/null | sed -n "1s/^systemd \\([0-9]*\\).*/\\1/p")"',
    'command -v ip >/dev/null 2>&1 && printf "default_ipv4=%s\\n" "$(ip -4 route get 198.18.0.0 2>/dev/null | sed -n "s/.* src \\([0-9.]*\\).*/\\1/p")"',
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
  set('architecture', raw.architecture);
  set('kernel', raw.kernel);
  set('system', 'Linux');
  set('user_id', raw.user_id);
  set('user_uid', raw.user_uid === undefined ? undefined : Number(raw.user_uid));
  set('processor_vcpus', raw.nproc === undefined ? undefined : Number(raw.nproc));
  set('memtotal_mb', raw.memtotal_kb === undefined ? undefined : Math.floor(Number(raw.memtotal_kb) / 1024));
  const id = raw.os_ID;
  const names: Record<string, string> = { debian: 'Debian', ubuntu: 'Ubuntu', fedora: 'Fedora', centos: 'CentOS', rhel: 'RedHat' };
  set('distribution', id ? (names[id] ?? raw.os_NAME) : undefined);
  // Debian's point release (12.7) lives in /etc/debian_version; os-release says only 12.
  const version = id === 'debian' && raw.debian_version && /^\d/.test(raw.debian_version) ? raw.debian_version : raw.os_VERSION_ID;
  set('distribution_version', version);
  set('distribution_major_version', version?.split('.')[0]);
  set('distribution_release', raw.os_VERSION_CODENAME);
  const like = `${id ?? ''} ${raw.os_ID_LIKE ?? ''}`;
  set('os_family', /debian|ubuntu/.test(like) ? 'Debian' : /rhel|fedora|centos/.test(like) ? 'RedHat' : undefined);
  set('pkg_mgr', raw.pkg_mgr);
  set('service_mgr', raw.service_mgr);
  set('systemd_version', raw.systemd_version);
  if (raw.default_ipv4) facts.default_ipv4 = { address: raw.default_ipv4 };
  return facts;
}
