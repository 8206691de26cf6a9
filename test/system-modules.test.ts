import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { findModule } from '../src/modules/index.js';
import type { Change, HostModule, ModuleContext, Plan } from '../src/modules/types.js';
import { validateSchema } from '../src/load/validate.js';
import { editCrontab } from '../src/modules/cron.js';
import { absent, file } from './helpers/facts.js';

const ctx = {} as ModuleContext;
function plan(name: string, args: Record<string, unknown>, facts: Record<string, unknown>): Plan {
  const m = findModule(name) as HostModule<unknown>;
  assert.deepEqual(validateSchema(m.schema, args, { what: name, coerce: true }).map((e) => e.message), []);
  return m.plan(args as never, facts, ctx);
}
const displays = (p: Plan) => p.changes.map((c) => (c.kind === 'exec' ? c.display : c.kind));
const probe = (name: string, args: Record<string, unknown>, key: string, out: string) => (findModule(name) as HostModule<unknown>).probe(args as never, ctx)[key]!.parse(out, 0);

describe('system modules: facts + args -> planned changes', () => {
  describe('apt', () => {
    const installed = { nginx: { installed: '1.26.3-3', candidate: '1.26.3-3' }, curl: { installed: '8.14.1-2', candidate: '8.14.1-3' } };
    it('installs exactly the missing packages, in one apt-get call', () => {
      assert.deepEqual(displays(plan('apt', { name: ['nginx', 'postfix', 'mailutils'] }, { packages: installed })), ['install postfix, mailutils']);
    });
    it('is a no-op when everything is installed', () => {
      assert.deepEqual(displays(plan('apt', { name: 'nginx,curl', state: 'present' }, { packages: installed })), []);
    });
    it('latest upgrades only what has a newer candidate', () => {
      assert.deepEqual(displays(plan('apt', { name: ['nginx', 'curl'], state: 'latest' }, { packages: installed })), ['install curl']);
    });
    it('absent removes only what is installed; purge purges', () => {
      assert.deepEqual(displays(plan('apt', { name: ['nginx', 'postfix'], state: 'absent' }, { packages: installed })), ['remove nginx']);
      assert.match((plan('apt', { name: 'nginx', state: 'absent', purge: true }, { packages: installed }).changes[0] as Extract<Change, { kind: 'exec' }>).script, /purge -- nginx/);
    });
    it('names follow Debian\'s rules (issue 16, item 4); anything else, an option above all, is refused', () => {
      for (const ok of ['nginx=1.26*', 'nginx/bookworm-backports', 'libc6:amd64', 'g++', './local.deb', '/srv/pkgs/x_1.0_all.deb']) {
        assert.doesNotThrow(() => plan('apt', { name: ok }, { packages: installed }), ok);
      }
      for (const bad of ['-oDPkg::Pre-Invoke::=touch /x', '--allow-unauthenticated', 'Nginx', 'a', 'nginx;id', 'nginx=']) {
        assert.throws(() => plan('apt', { name: bad }, { packages: installed }), /is not a package name/, bad);
      }
      const script = (plan('apt', { name: 'nginx=1.27*' }, { packages: installed }).changes[0] as Extract<Change, { kind: 'exec' }>).script;
      assert.match(script, / install -- 'nginx=1\.27\*'/);
    });
    it('a version pin is honoured', () => {
      assert.deepEqual(displays(plan('apt', { name: 'nginx=1.26*' }, { packages: installed })), []);
      assert.deepEqual(displays(plan('apt', { name: 'nginx=1.27*' }, { packages: installed })), ['install nginx=1.27*']);
    });
    it('update_cache respects cache_valid_time', () => {
      assert.deepEqual(displays(plan('apt', { update_cache: true, cache_valid_time: 3600 }, { cacheAge: 60 })), []);
      assert.deepEqual(displays(plan('apt', { update_cache: true, cache_valid_time: 3600 }, { cacheAge: 7200 })), ['apt-get update']);
    });
    it('runs apt non-interactively, waiting for the dpkg lock with a timeout', () => {
      const script = (plan('apt', { name: 'postfix' }, { packages: {} }).changes[0] as Extract<Change, { kind: 'exec' }>).script;
      assert.match(script, /DEBIAN_FRONTEND=noninteractive/);
      assert.match(script, /DPkg::Lock::Timeout=120/);
      assert.match(script, /--force-confold/);
    });
    it('probes with dpkg-query and parses its status', () => {
      const out = 'I\tnginx\tinstalled\t1.2\nI\tpostfix\tconfig-files\t3.1\n';
      assert.deepEqual(probe('apt', { name: ['nginx', 'postfix'] }, 'packages', out), { nginx: { installed: '1.2' } });
    });
  });

  describe('debconf', () => {
    const answers = { 'postfix/main_mailer_type': 'Internet Site', 'postfix/mailname': 'old.example' };
    it('sets an answer that differs, through stdin', () => {
      const p = plan('debconf', { name: 'postfix', question: 'postfix/mailname', vtype: 'string', value: 'mail.example' }, { answers });
      const c = p.changes[0] as Extract<Change, { kind: 'exec' }>;
      assert.equal(c.script, 'debconf-set-selections');
      assert.equal(c.stdin, 'postfix postfix/mailname string mail.example\n');
    });
    it('leaves an equal answer alone', () => {
      assert.deepEqual(plan('debconf', { name: 'postfix', question: 'postfix/main_mailer_type', vtype: 'select', value: 'Internet Site' }, { answers }).changes, []);
    });
    it('never shows a password', () => {
      const c = plan('debconf', { name: 'x', question: 'x/pw', vtype: 'password', value: 'hunter2' }, { answers: {} }).changes[0] as Extract<Change, { kind: 'exec' }>;
      assert.doesNotMatch(c.display, /hunter2/);
      assert.equal(c.diff?.hidden, true);
    });
    it('parses debconf-show', () => {
      assert.deepEqual(probe('debconf', { name: 'postfix' }, 'answers', '* postfix/mailname: m.example\n  postfix/relayhost:\n'), { 'postfix/mailname': 'm.example', 'postfix/relayhost': '' });
    });
  });

  describe('systemd_service / service', () => {
    const unit = (active: string, fileState: string, load = 'loaded', fragment = '/usr/lib/systemd/system/x.service') => ({ unit: { active, fileState, load, fragment } });
    it('units of one scope are shown by one systemctl, their answers kept apart', () => {
      const m = findModule('systemd_service') as HostModule<unknown>;
      const probes = ['a.service', 'b.service'].map((name) => m.probe({ name, scope: 'user' } as never, ctx).unit!);
      const kind = probes[0]!.merge!.kind;
      assert.equal(kind, probes[1]!.merge!.kind, 'one kind per scope');
      assert.notEqual(kind, (m.probe({ name: 'a.service' } as never, ctx).unit!).merge!.kind, 'system units apart from user units');
      const queries = probes.map((p) => p.merge!.query);
      assert.match(kind.script(queries), /^systemctl --user show -p \S+ -- a\.service b\.service /);
      const out = 'LoadState=loaded\nActiveState=active\nUnitFileState=enabled\nFragmentPath=/a\n\nActiveState=inactive\nLoadState=not-found\nUnitFileState=\nFragmentPath=';
      assert.deepEqual(Object.fromEntries(kind.parse(out, queries)), {
        'a.service': { load: 'loaded', active: 'active', fileState: 'enabled', fragment: '/a' },
        'b.service': { load: 'not-found', active: 'inactive', fileState: '', fragment: '' },
      });
      // systemctl refuses a whole call for one invalid name: alone it is not-found, in a batch the batch fails.
      assert.throws(() => kind.parse('', queries), /answered for 0 of 2 units/);
      assert.deepEqual(probes[0]!.parse('', 0), { load: 'not-found', active: 'inactive', fileState: '', fragment: '' });
    });
    it('starts a stopped unit and enables it', () => {
      assert.deepEqual(displays(plan('systemd_service', { name: 'nginx', state: 'started', enabled: true }, unit('inactive', 'disabled'))), ['enable nginx', 'start nginx']);
    });
    it('changes nothing for a running, enabled unit', () => {
      assert.deepEqual(displays(plan('service', { name: 'nginx', state: 'started', enabled: true }, unit('active', 'enabled'))), []);
    });
    it('restarted and reloaded always act', () => {
      assert.deepEqual(displays(plan('systemd', { name: 'nginx', state: 'restarted' }, unit('active', 'enabled'))), ['restart nginx']);
      assert.deepEqual(displays(plan('systemd', { name: 'nginx', state: 'reloaded' }, unit('active', 'enabled'))), ['reload nginx']);
    });
    it('daemon_reload runs first and does not count as a change', () => {
      const p = plan('systemd_service', { daemon_reload: true, name: 'x', state: 'started' }, unit('active', 'generated'));
      assert.deepEqual(p.changes.map((c) => (c.kind === 'exec' ? [c.display, c.quiet ?? false] : c.kind)), [['systemctl daemon-reload', true]]);
    });
    it('scope user talks to the user manager', () => {
      const c = plan('systemd_service', { name: 'prometheus', state: 'restarted', scope: 'user' }, unit('active', 'generated')).changes[0] as Extract<Change, { kind: 'exec' }>;
      assert.match(c.script, /^t=\$\(date \+%s\); systemctl --user restart -- prometheus \|\| /);
      assert.match(c.script, /journalctl --user -u prometheus /);
    });
    it('refuses to enable a generated (Quadlet) unit, saying why', () => {
      assert.match(plan('systemd_service', { name: 'grafana', enabled: true, scope: 'user' }, unit('inactive', 'generated', 'loaded', '/run/user/1000/systemd/generator/grafana.service')).failed ?? '', /generated .* cannot be enabled: its \[Install\] section is applied by the generator/);
    });
    it('masks and unmasks', () => {
      assert.deepEqual(displays(plan('systemd', { name: 'x', masked: true }, unit('inactive', 'enabled'))), ['mask x']);
      assert.deepEqual(displays(plan('systemd', { name: 'x', masked: false }, unit('inactive', 'masked', 'masked'))), ['unmask x']);
    });
    it('a unit that does not exist fails clearly', () => {
      assert.match(plan('systemd', { name: 'nope', state: 'started' }, unit('inactive', '', 'not-found')).failed ?? '', /could not find the requested service nope/);
    });
  });

  describe('user and group', () => {
    const senex = { exists: true, uid: 1003, group: 'senex', groups: ['users'], comment: '', home: '/home/senex', shell: '/bin/bash' };
    it('creates a missing user with every option, as argv', () => {
      assert.deepEqual(displays(plan('user', { name: 'app', uid: 2000, groups: ['docker', 'users'], shell: '/bin/sh', system: true }, { account: { exists: false } })), ['useradd -u 2000 -G docker,users -s /bin/sh -r -M -- app']);
    });
    it('changes only what differs; append adds groups', () => {
      assert.deepEqual(displays(plan('user', { name: 'senex', shell: '/bin/bash', groups: 'systemd-journal', append: true }, { account: senex })), ['usermod -a -G systemd-journal -- senex']);
      assert.deepEqual(displays(plan('user', { name: 'senex', shell: '/bin/bash', groups: ['users'] }, { account: senex })), []);
      assert.deepEqual(displays(plan('user', { name: 'senex', groups: [] }, { account: senex })), ["usermod -G '' -- senex"]);
    });
    it('removes a user', () => {
      assert.deepEqual(displays(plan('user', { name: 'senex', state: 'absent', remove: true }, { account: senex })), ['userdel -r -- senex']);
    });
    it('parses getent/id output', () => {
      assert.deepEqual(probe('user', { name: 'senex' }, 'account', 'senex:x:1003:1003:Senex:/home/senex:/bin/bash\nG:senex\nS:senex users\n'), { ...senex, comment: 'Senex' });
    });
    it('groups: add, change gid, remove', () => {
      assert.deepEqual(displays(plan('group', { name: 'app', gid: 3000 }, { group: undefined })), ['groupadd -g 3000 -- app']);
      assert.deepEqual(displays(plan('group', { name: 'app', gid: 3001 }, { group: 3000 })), ['groupmod -g 3001 -- app']);
      assert.deepEqual(displays(plan('group', { name: 'app', state: 'absent' }, { group: 3000 })), ['groupdel -- app']);
    });
  });

  describe('cron', () => {
    it('writes Ansible-style entries, with the user field in cron.d', () => {
      const p = plan('cron', { name: 'ping', minute: '*/5', job: 'curl -fsS https://hc.example/x', cron_file: 'senex-health', user: 'senex' }, { file: absent('/etc/cron.d/senex-health') });
      const w = p.changes[0] as Extract<Change, { kind: 'write' }>;
      assert.equal(w.path, '/etc/cron.d/senex-health');
      assert.equal(w.content.toString(), '#Ansible: ping\n*/5 * * * * senex curl -fsS https://hc.example/x\n');
      assert.deepEqual(w.attrs, { mode: '0644', owner: 'root', group: 'root' });
    });
    it('replaces a job by name, idempotently', () => {
      const before = '#Ansible: ping\n*/10 * * * * root old\n';
      assert.equal(editCrontab(before, { name: 'ping', minute: '*/5', job: 'new' }), '#Ansible: ping\n*/5 * * * * new\n');
      const now = '#Ansible: ping\n*/5 * * * * root new\n';
      assert.deepEqual(plan('cron', { name: 'ping', minute: '*/5', job: 'new', cron_file: 'x' }, { file: file('/etc/cron.d/x', { content: now, mode: '0644' }) }).changes, []);
    });
    it('absent removes the job; an emptied cron.d file is removed', () => {
      const only = '#Ansible: ping\n* * * * * root x\n';
      assert.deepEqual(displays(plan('cron', { name: 'ping', state: 'absent', cron_file: 'x' }, { file: file('/etc/cron.d/x', { content: only }) })), ['remove']);
    });
    it('a user crontab is installed through crontab -u USER -', () => {
      const c = plan('cron', { name: 'alert', minute: '*/5', job: '/usr/local/bin/error-alert', user: 'senex' }, { crontab: '' }).changes[0] as Extract<Change, { kind: 'exec' }>;
      assert.equal(c.script, 'crontab -u senex -');
      assert.equal(c.stdin, '#Ansible: alert\n*/5 * * * * /usr/local/bin/error-alert\n');
    });
    it('rejects a job with a newline (it would become a second job)', () => {
      const m = findModule('cron')!;
      assert.match(validateSchema(m.schema, { name: 'x', job: 'a\n* * * * * root evil' }, { what: 'cron' })[0]!.message, /must match/);
    });
  });
  describe('podman_secret', () => {
    const sha = (s: string) => createHash('sha256').update(`${s}\n`).digest('hex');
    it('creates a missing secret from stdin, never on the command line', () => {
      const c = plan('podman_secret', { name: 'grafana_admin', data: 's3cret' }, { secret: { exists: false, digest: null } }).changes[0] as Extract<Change, { kind: 'exec' }>;
      assert.equal(c.script, "podman secret create -- grafana_admin -");
      assert.equal(c.stdin, 's3cret');
      assert.doesNotMatch(c.script + c.display, /s3cret/);
    });
    it('leaves an identical secret alone and replaces a changed one', () => {
      assert.deepEqual(displays(plan('podman_secret', { name: 'g', data: 'same' }, { secret: { exists: true, digest: sha('same') } })), []);
      assert.deepEqual(displays(plan('podman_secret', { name: 'g', data: 'new' }, { secret: { exists: true, digest: sha('old') } })), ['replace podman secret g']);
      assert.match((plan('podman_secret', { name: 'g', data: 'new' }, { secret: { exists: true, digest: sha('old') } }).changes[0] as Extract<Change, { kind: 'exec' }>).script, /--replace/);
    });
    it('skip_existing and force', () => {
      assert.deepEqual(displays(plan('podman_secret', { name: 'g', data: 'new', skip_existing: true }, { secret: { exists: true, digest: sha('old') } })), []);
      assert.deepEqual(displays(plan('podman_secret', { name: 'g', data: 'same', force: true }, { secret: { exists: true, digest: sha('same') } })), ['replace podman secret g']);
    });
    it('absent removes only what exists', () => {
      assert.deepEqual(displays(plan('podman_secret', { name: 'g', state: 'absent' }, { secret: { exists: true, digest: null } })), ['remove podman secret g']);
      assert.deepEqual(displays(plan('podman_secret', { name: 'g', state: 'absent' }, { secret: { exists: false, digest: null } })), []);
    });
    it('parses the probe; an unreadable value (old podman) is unknown, not empty', () => {
      assert.deepEqual(probe('podman_secret', { name: 'g', data: 'x' }, 'secret', `exists\n${sha('x')}\n`), { exists: true, digest: sha('x') });
      const empty = createHash('sha256').digest('hex');
      assert.deepEqual(probe('podman_secret', { name: 'g', data: 'x' }, 'secret', `exists\n${empty}\n`), { exists: true, digest: null });
      assert.deepEqual(probe('podman_secret', { name: 'g', data: 'x' }, 'secret', ''), { exists: false, digest: null });
    });
    it('requires data unless absent', () => {
      const m = findModule('podman_secret')!;
      assert.notDeepEqual(validateSchema(m.schema, { name: 'g' }, { what: 'podman_secret' }), []);
    });
  });
});
