import { containsSecret } from '../vault/redact.js';
import type { Attrs, Change } from '../modules/types.js';
import { splitShellWords } from '../modules/shell-words.js';
import { quote, shellJoin } from '../transport/quote.js';
import type { StreamSource } from '../transport/types.js';

/** What the engine sends to the host to carry out one change. */
export interface ApplyCommand {
  script: string;
  stdin?: string | Buffer | StreamSource | undefined;
}

/** Exit code our write script uses when `validate` rejects the new content. */
export const VALIDATE_FAILED = 86;

const TMP_MARK = '__SENEX_TMP_PATH__';

function chmodChown(target: string, attrs: Attrs, opts: { recurse?: boolean; noDeref?: boolean } = {}): string {
  const lines: string[] = [];
  const r = opts.recurse ? '-R ' : '';
  if (attrs.mode !== undefined) lines.push(`chmod ${r}${quote(attrs.mode)} -- ${target}`);
  const who = attrs.owner !== undefined || attrs.group !== undefined ? `${attrs.owner ?? ''}${attrs.group !== undefined ? `:${attrs.group}` : ''}` : undefined;
  if (who !== undefined) lines.push(`chown ${r}${opts.noDeref ? '-h ' : ''}${quote(who)} -- ${target}`);
  return lines.join('\n');
}

/** `validate: 'visudo -cf %s'`: split like Ansible (no shell), the temp file put in place of %s. */
function validateCommand(template: string): string {
  return shellJoin(splitShellWords(template.replace('%s', TMP_MARK))).split(TMP_MARK).join('"$tmp"');
}

// New files get what the umask allows of 0666 (as open(2) with O_CREAT would give),
// not mktemp's 0600.
const DEFAULT_FILE_MODE = `chmod "$(printf '%o' $(( 0666 & ~$(umask) )))" -- "$tmp"`;

/**
 * Temp files are named after the process writing them (`.senex-tmp.PID.XXXXXXXX`). A writer
 * killed with SIGKILL (or a host losing power) cannot remove its own; the next write into
 * the same directory removes those whose writer no longer exists. A PID that was reused
 * keeps its file until a later write: never removing a live writer's file matters more.
 * `$me` is this subshell's own PID (read by the shell itself from /proc/self; `$$` would be
 * the persistent shell's).
 */
const REMOVE_STALE_TEMP_FILES = [
  'me=$$; { read -r me _ </proc/self/stat; } 2>/dev/null || :',
  'for f in "$dir"/.senex-tmp.*.*; do p=${f##*/.senex-tmp.}; p=${p%%.*}; case $p in ""|*[!0-9]*) continue;; esac; [ -d "/proc/$p" ] || rm -f -- "$f" 2>/dev/null || :; done',
];

/**
 * An atomic write: temp file in the destination's directory, content, attributes, fsync,
 * optional validation of the temp file, optional backup, then rename. Interrupted at any
 * point, the destination is either the old file or the new one.
 */
function writeScript(c: Extract<Change, { kind: 'write' }>): string {
  const lines = [
    'set -e',
    `dest=${quote(c.path)}`,
    'dir=$(dirname -- "$dest")',
    `[ -d "$dir" ] || { echo "destination directory $dir does not exist" >&2; exit 1; }`,
    ...REMOVE_STALE_TEMP_FILES,
    'tmp=$(mktemp "$dir/.senex-tmp.$me.XXXXXXXX")',
    // Killed (connection gone, SIGTERM) or failed: the temp file goes, the destination is untouched.
    "trap 'rm -f -- \"$tmp\"' EXIT",
    "trap 'exit 129' HUP INT TERM PIPE",
    'cat >"$tmp"',
    // Keep what an existing file has; new files get the umask's mode, except that a file
    // holding a secret stays mktemp's 0600 unless the task gives a mode.
    `if [ -e "$dest" ]; then chmod --reference="$dest" -- "$tmp"; chown --reference="$dest" -- "$tmp" 2>/dev/null || true; else ${containsSecret(c.content) ? ':' : DEFAULT_FILE_MODE}; fi`,
    chmodChown('"$tmp"', c.attrs),
    'sync -- "$tmp" 2>/dev/null || true',
  ];
  if (c.validate) {
    lines.push(`if ! ${validateCommand(c.validate)} >&2; then echo "validation failed: ${c.validate.replace(/["`$\\]/g, '\\$&')}" >&2; exit ${VALIDATE_FAILED}; fi`);
  }
  if (c.backup) {
    lines.push('if [ -e "$dest" ]; then backup="$dest.$$.$(date +%Y-%m-%d@%H:%M:%S)~"; cp -p -- "$dest" "$backup"; echo "backup_file=$backup"; fi');
  }
  lines.push('mv -f -- "$tmp" "$dest"', 'trap - EXIT');
  return lines.filter(Boolean).join('\n');
}

/** The shell text (and stdin) that carries out a change on the host. */
export function applyCommand(c: Change): ApplyCommand {
  switch (c.kind) {
    case 'write':
      return { script: writeScript(c), stdin: c.content };
    case 'mkdir': {
      // Like Ansible, every directory this creates gets the requested attributes, not just the last.
      const fix = chmodChown('"$d"', c.attrs);
      return {
        script: [
          'set -e',
          `p=${quote(c.path)}`,
          "created=''",
          'd="$p"',
          'while [ ! -e "$d" ] && [ ! -L "$d" ]; do created="$d\n$created"; d=$(dirname -- "$d"); done',
          'mkdir -p -- "$p"',
          fix ? `printf '%s' "$created" | while IFS= read -r d; do [ -n "$d" ] || continue; ${fix.replace(/\n/g, '; ')}; done` : '',
        ]
          .filter(Boolean)
          .join('\n'),
      };
    }
    case 'attrs':
      return { script: `set -e\n${chmodChown(quote(c.path), c.attrs, { recurse: c.recurse ?? false, noDeref: !c.follow })}` };
    case 'symlink':
      // A new link under a temp name, renamed over the old path: never a moment without one.
      return {
        script: [
          'set -e',
          `p=${quote(c.path)}`,
          'tmp="$(dirname -- "$p")/.senex-tmp-link.$$"',
          `ln -s -- ${quote(c.target)} "$tmp"`,
          'mv -Tf -- "$tmp" "$p"',
        ].join('\n'),
      };
    case 'hardlink':
      return { script: `ln -f -- ${quote(c.target)} ${quote(c.path)}` };
    case 'remove':
      return { script: `rm -rf -- ${quote(c.path)}` };
    case 'touch': {
      const fix = chmodChown(quote(c.path), c.attrs);
      return { script: ['set -e', `touch -- ${quote(c.path)}`, fix].filter(Boolean).join('\n') };
    }
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
