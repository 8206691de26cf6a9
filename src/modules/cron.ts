import { planContent } from './content.js';
import { fileProbe, type FileFacts } from './facts/file.js';
import { quote } from '../transport/quote.js';
import { defineHostModule, type Probe } from './types.js';

export interface CronArgs {
  name: string;
  job?: string;
  minute?: string;
  hour?: string;
  day?: string;
  month?: string;
  weekday?: string;
  special_time?: 'annually' | 'daily' | 'hourly' | 'monthly' | 'reboot' | 'weekly' | 'yearly';
  user?: string;
  cron_file?: string;
  state?: 'present' | 'absent';
  disabled?: boolean;
  env?: boolean;
}

const MARK = '#Ansible: ';

/** The job's line as Ansible writes it (with the user field in /etc/cron.d files). */
function jobLine(a: CronArgs): string {
  if (a.env) return `${a.name}=${a.job ?? ''}`;
  const when = a.special_time ? `@${a.special_time}` : [a.minute ?? '*', a.hour ?? '*', a.day ?? '*', a.month ?? '*', a.weekday ?? '*'].join(' ');
  const user = a.cron_file ? ` ${a.user ?? 'root'}` : '';
  return `${a.disabled ? '#' : ''}${when}${user} ${a.job ?? ''}`;
}

/** Ansible's cron edit: a `#Ansible: NAME` comment and the job line after it. */
export function editCrontab(current: string, a: CronArgs): string {
  const lines = current === '' ? [] : current.replace(/\n$/, '').split('\n');
  if (a.env) {
    const i = lines.findIndex((l) => l.startsWith(`${a.name}=`));
    if (a.state === 'absent') {
      if (i >= 0) lines.splice(i, 1);
    } else if (i >= 0) lines[i] = jobLine(a);
    else lines.unshift(jobLine(a));
  } else {
    const i = lines.indexOf(`${MARK}${a.name}`);
    if (a.state === 'absent') {
      if (i >= 0) lines.splice(i, 2);
    } else if (i >= 0) lines[i + 1] = jobLine(a);
    else lines.push(`${MARK}${a.name}`, jobLine(a));
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function cronFilePath(a: CronArgs): string {
  return a.cron_file!.includes('/') ? a.cron_file! : `/etc/cron.d/${a.cron_file}`;
}

function crontabProbe(user: string | undefined): Probe<string> {
  return { script: `crontab ${user ? `-u ${quote(user)} ` : ''}-l 2>/dev/null; true`, parse: (out) => (out.trim() ? `${out.replace(/\n+$/, '')}\n` : '') };
}

/** A newline in any field would start a second cron line: a job nobody asked for. */
const ONE_LINE = { type: 'string', pattern: '^[^\\n\\r]*$', description: 'one line: a newline would start a second cron line' } as const;

export const cron = defineHostModule<CronArgs>({
  name: 'cron',
  schema: {
    type: 'object',
    properties: {
      name: { ...ONE_LINE, minLength: 1 },
      job: ONE_LINE,
      minute: ONE_LINE,
      hour: ONE_LINE,
      day: ONE_LINE,
      month: ONE_LINE,
      weekday: ONE_LINE,
      special_time: { enum: ['annually', 'daily', 'hourly', 'monthly', 'reboot', 'weekly', 'yearly'] },
      user: ONE_LINE,
      cron_file: { type: 'string' },
      state: { enum: ['present', 'absent'] },
      disabled: { type: 'boolean' },
      env: { type: 'boolean' },
    },
    required: ['name'],
    additionalProperties: false,
  },
  probe: (a): Record<string, Probe> => (a.cron_file ? { file: fileProbe(cronFilePath(a), { content: true }) } : { crontab: crontabProbe(a.user) }),
  plan(a, facts) {
    if (a.state !== 'absent' && a.job === undefined) return { changes: [], failed: 'job is required with state=present' };
    if (a.cron_file) {
      const f = facts.file as FileFacts;
      const before = f.content?.toString('utf8') ?? '';
      const after = editCrontab(before, a);
      if (after === before && f.exists) return planContent(f, Buffer.from(after), { mode: '0644', owner: 'root', group: 'root' });
      // cron ignores /etc/cron.d files that are group/other-writable or not root's.
      if (after === '' && a.state === 'absent') return { changes: f.exists ? [{ kind: 'remove', path: f.path, before: 'file' }] : [] };
      return planContent(f, Buffer.from(after), { mode: '0644', owner: 'root', group: 'root' });
    }
    const before = facts.crontab as string;
    const after = editCrontab(before, a);
    if (after === before) return { changes: [] };
    const who = a.user ? `-u ${quote(a.user)} ` : '';
    return {
      changes: [{ kind: 'exec', script: `crontab ${who}-`, stdin: after, display: `update the crontab of ${a.user ?? 'the login user'}`, diff: { path: `crontab ${a.user ?? ''}`.trim(), before, after } }],
    };
  },
});
