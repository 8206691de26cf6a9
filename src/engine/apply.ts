import { containsSecret } from '../vault/redact.js';
import { ModuleError, type Attrs, type Change } from '../modules/types.js';
import { checkFollowed, CREATE_LEVEL, ENTER_STAGE, enterParent, PIN, PRELUDE, REMOVE_STALE_STAGES } from './safe-dir.js';
import { splitShellWords } from '../modules/shell-words.js';
import { quote } from '../transport/quote.js';
import type { StreamSource } from '../transport/types.js';

/** What the engine sends to the host to carry out one change. */
export interface ApplyCommand {
  script: string;
  stdin?: string | Buffer | StreamSource | undefined;
}

/** Exit code our write script uses when `validate` rejects the new content. */
export const VALIDATE_FAILED = 86;

const PATH_MARK = '__SENEX_VALIDATE_PATH__';
const PERCENT_MARK = '__SENEX_PERCENT__';

/** chown before chmod (as Ansible): a chown clears the setuid and setgid bits a mode asks for. */
function chownChmod(target: string, attrs: Attrs, opts: { recurse?: boolean; noDeref?: boolean } = {}): string {
  const lines: string[] = [];
  const r = opts.recurse ? '-R ' : '';
  const who = attrs.owner !== undefined || attrs.group !== undefined ? `${attrs.owner ?? ''}${attrs.group !== undefined ? `:${attrs.group}` : ''}` : undefined;
  if (who !== undefined) lines.push(`chown ${r}${opts.noDeref ? '-h ' : ''}${quote(who)} -- ${target}`);
  if (attrs.mode !== undefined) lines.push(`chmod ${r}${quote(attrs.mode)} -- ${target}`);
  return lines.join('\n');
}

/**
 * `validate: 'visudo -cf %s'` as Ansible runs it: `validate % path` on the string (`%s` is the
 * path, `%%` a `%`), then split like a shell, no shell run. The path is put into each word
 * after splitting, so it reaches the validator's argv wherever the `%s` was, also inside a
 * quoted `sh -c '... %s'`. A validate whose path would reach no word (`%%s`), or that has
 * two, fails the task: the file is never installed unvalidated.
 */
export function validateCommand(template: string, pathVar: string): string {
  const marked = template.replace(/%%|%s/g, (m) => (m === '%s' ? PATH_MARK : PERCENT_MARK));
  // Python's `%` takes one path: Ansible fails on a second %s (write %% for a literal %).
  if (marked.split(PATH_MARK).length > 2) throw new ModuleError(`validate may hold %s only once (Ansible fails on a second one; use sh -c 'f=%s; ...' to name it twice): ${template}`);
  const words = splitShellWords(marked).map((w) => w.split(PERCENT_MARK).join('%'));
  if (!words.some((w) => w.includes(PATH_MARK))) throw new ModuleError(`validate must contain %s (where the file to check goes): ${template}`);
  return words.map((w) => w.split(PATH_MARK).map((part) => (part === '' ? '' : quote(part))).join(`"${pathVar}"`)).join(' ');
}

// New files get what the umask allows of 0666 (as open(2) with O_CREAT would give); read
// before the staging directory's `umask 077`.
const DEFAULT_FILE_MODE = `default_mode=$(printf '%o' $(( 0666 & ~$(umask) )))`;

/**
 * An existing file's mode and owner, for its replacement: one lstat (`%F` and the attributes
 * in one answer). Through a symlink (replaced, as Ansible does, by the new file) the target's
 * mode is taken without its setuid/setgid bits: the target may be anywhere.
 */
function keepExistingAttrs(isSecret: boolean): string[] {
  return [
    'old=$(stat -c "%F:%a:%u:%g" -- "../$name" 2>/dev/null) || old=',
    'case $old in "symbolic link:"*) old=$(stat -L -c "%F:%a:%u:%g" -- "../$name" 2>/dev/null) || old=; strip=1;; *) strip=;; esac',
    'if [ -n "$old" ]; then',
    '  IFS=: read -r _ m u g <<EOF',
    '$old',
    'EOF',
    '  [ -z "$strip" ] || m=$(printf %o $(( 0$m & 01777 )))',
    '  chown "$u:$g" new 2>/dev/null || :',
    '  chmod "$m" new',
    // New files get the umask's mode, except that a file holding a secret stays 0600
    // unless the task gives a mode.
    `else ${isSecret ? ':' : 'chmod "$default_mode" new'}; fi`,
  ];
}

/**
 * An atomic write (safe-dir.ts says how and why): content staged in a private directory next
 * to the destination, attributes, fsync, optional validation, optional backup, then rename.
 * Interrupted at any point, the destination is either the old file or the new one.
 */
function writeScript(c: Extract<Change, { kind: 'write' }>): string {
  const lines = [
    'set -e',
    `p=${quote(c.path)}`,
    ...PRELUDE,
    'start=$PWD',
    c.via === undefined ? '' : checkFollowed(c.via),
    ...enterParent(c.path, '"destination directory $dir does not exist"'),
    DEFAULT_FILE_MODE,
    REMOVE_STALE_STAGES,
    ...ENTER_STAGE,
    'cat >new',
    // Keep what an existing file has.
    ...keepExistingAttrs(containsSecret(c.content)),
    chownChmod('new', c.attrs),
    'sync -- new 2>/dev/null || :',
  ];
  if (c.validate) {
    // The validator gets the staged file by its real path, and the staging directory becomes
    // 0711: validators that drop to the file's user (senex-validate runs the image's own
    // checker as senex, mounting the file's directory) must reach it, as they reached the
    // temp file before. The directory's owner could rename the staging directory and point
    // the name elsewhere, so that another file is validated: nothing gained, as that owner
    // can replace the installed file at any time anyway; what is installed is still ours.
    // The validator runs where scripts run (not in the staging directory), as before.
    lines.push('chmod 0711 .', 'vpath="$(pwd -P)/new"');
    lines.push(`if ! ( cd -- "$start" 2>/dev/null || cd /; ${validateCommand(c.validate, '$vpath')} ) >&2; then echo "validation failed: ${c.validate.replace(/["`$\\]/g, '\\$&')}" >&2; exit ${VALIDATE_FAILED}; fi`);
  }
  if (c.backup) {
    lines.push(
      'case $(stat -c %F -- "../$name" 2>/dev/null) in "regular file"|"regular empty file"|"symbolic link")',
      '  backup="$name.$$.$(date +%Y-%m-%d@%H:%M:%S)~"; cp -pP -- "../$name" old; mv -Tf -- old "../$backup"; echo "backup_file=$dir/$backup";;',
      'esac',
    );
  }
  lines.push('mv -Tf -- new "../$name"');
  return lines.filter(Boolean).join('\n');
}

/** Like Ansible, every directory this creates gets the requested attributes, not just the last. */
function mkdirScript(c: Extract<Change, { kind: 'mkdir' }>): string {
  return [
    'set -e',
    `p=${quote(c.path)}`,
    ...PRELUDE,
    // The missing levels, outermost first, as the positional parameters: each one word, so
    // a name may hold any byte but NUL and '/' (a newline-separated list, or `$(basename)`,
    // would cut or trim names holding newlines).
    'd=$p',
    'set --',
    'while [ ! -e "$d" ] && [ ! -L "$d" ]; do',
    '  while :; do case $d in */) d=${d%/};; *) break;; esac; done',
    '  case $d in */*) set -- "${d##*/}" "$@"; d=${d%/*}; [ -n "$d" ] || d=/;; *) set -- "$d" "$@"; d=.;; esac',
    'done',
    'enter_dir "$d" || { echo "$d is not a directory" >&2; exit 1; }',
    ...CREATE_LEVEL,
    'for b; do',
    '  [ -n "$b" ] || continue',
    '  create_level "$b"',
    chownChmod('.', c.attrs),
    'done',
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * Attributes of an existing path (and `touch` of one), through an fd opened once: a symlink
 * at the path is followed only when asked and only in a directory nobody else can write.
 */
function existingScript(path: string, attrs: Attrs, opts: { follow: boolean; recurse?: boolean; touch?: boolean }): string {
  const follow = opts.follow ? 'follow' : 'nofollow';
  const onLink = [opts.touch ? 'touch -c -h -- "$name"' : '', chownChmod('"$name"', { owner: attrs.owner, group: attrs.group }, { noDeref: true })];
  const onInode = opts.recurse
    ? ['cd -P /proc/self/fd/3', chownChmod('.', attrs, { recurse: true, noDeref: !opts.follow })]
    : [opts.touch ? 'touch -c -- /proc/self/fd/3' : '', chownChmod('/proc/self/fd/3', attrs)];
  return [
    'set -e',
    `p=${quote(path)}`,
    ...PRELUDE,
    ...enterParent(path, '"$dir does not exist"'),
    ...PIN,
    // A symlink not to be followed: only its own owner and times change (Linux links have no mode).
    `if [ -L "$name" ] && [ ${follow} = nofollow ]; then`,
    ...onLink.filter(Boolean),
    ':',
    'else',
    `pin ${follow}`,
    ...onInode.filter(Boolean),
    'fi',
  ].join('\n');
}

/** A new empty file, made in the staging directory and linked in: never through a name that is there already. */
function touchNewScript(c: Extract<Change, { kind: 'touch' }>): string {
  return [
    'set -e',
    `p=${quote(c.path)}`,
    ...PRELUDE,
    ...enterParent(c.path, '"$dir does not exist"'),
    DEFAULT_FILE_MODE,
    REMOVE_STALE_STAGES,
    ...ENTER_STAGE,
    ': >new',
    'chmod "$default_mode" new',
    chownChmod('new', c.attrs),
    'ln -P -- new "../$name" || { echo "$p appeared while it was being created" >&2; exit 1; }',
  ]
    .filter(Boolean)
    .join('\n');
}

/** The shell text (and stdin) that carries out a change on the host. */
export function applyCommand(c: Change): ApplyCommand {
  switch (c.kind) {
    case 'write':
      return { script: writeScript(c), stdin: c.content };
    case 'mkdir':
      return { script: mkdirScript(c) };
    case 'attrs':
      return { script: existingScript(c.path, c.attrs, { follow: c.follow, recurse: c.recurse ?? false }) };
    case 'symlink':
      // A new link, made in the staging directory, renamed over the old path: never a moment without one.
      return {
        script: [
          'set -e',
          `p=${quote(c.path)}`,
          ...PRELUDE,
          ...enterParent(c.path, '"$dir does not exist"'),
          REMOVE_STALE_STAGES,
          ...ENTER_STAGE,
          `ln -s -- ${quote(c.target)} new`,
          'mv -Tf -- new "../$name"',
        ].join('\n'),
      };
    case 'hardlink':
      // One lookup of the link's directory (ln -f unlinks, then links: two by path); a
      // relative target is taken from where the shell was, as before.
      return {
        script: [
          'set -e',
          `t=${quote(c.target)}`,
          'case $t in /*) ;; *) t="$(pwd -P)/$t";; esac',
          `p=${quote(c.path)}`,
          ...PRELUDE,
          ...enterParent(c.path, '"$dir does not exist"'),
          'ln -f -P -- "$t" "$name"',
        ].join('\n'),
      };
    case 'remove':
      return { script: `rm -rf -- ${quote(c.path)}` };
    case 'touch':
      return { script: c.exists ? existingScript(c.path, c.attrs, { follow: true, touch: true }) : touchNewScript(c) };
    case 'exec':
      return { script: c.script, stdin: c.stdin };
  }
}

/** One line for logs and --check output: what applying this change does. */
export function describeChange(c: Change): string {
  const attrs = (a: Attrs) =>
    [a.mode !== undefined ? `mode ${a.mode}` : '', a.owner !== undefined ? `owner ${a.owner}` : '', a.group !== undefined ? `group ${a.group}` : ''].filter(Boolean).join(', ');
  switch (c.kind) {
    case 'write':
      return `${c.before === null ? 'create' : 'update'} ${c.path} (${c.content.length} bytes${attrs(c.attrs) ? `, ${attrs(c.attrs)}` : ''})`;
    case 'mkdir':
      return `create directory ${c.path}${attrs(c.attrs) ? ` (${attrs(c.attrs)})` : ''}`;
    case 'attrs':
      return `set ${attrs(c.attrs)} on ${c.path}${c.recurse ? ' recursively' : ''}`;
    case 'symlink':
      return `link ${c.path} -> ${c.target}`;
    case 'hardlink':
      return `hard link ${c.path} => ${c.target}`;
    case 'remove':
      return `remove ${c.before} ${c.path}`;
    case 'touch':
      return `${c.exists ? 'touch' : 'create'} ${c.path}`;
    case 'exec':
      // Commands say what they run; modules (apt, systemd...) say what they do.
      return c.opaque ? `run ${c.display}` : c.display;
  }
}
