import { quote } from '../transport/quote.js';

/**
 * Shell pieces for changing files in a directory that another user may be able to write
 * (issue 16, item 1). senex-play runs as root and writes into such directories (the roles
 * put `owner: senex` files under ~senex). Their owner can rename a symlink over any name in
 * them at any moment, so **no name in such a directory is looked up twice** by what follows:
 *
 * - The script enters the file's directory once (enter_dir): from then on the directory is
 *   the shell's working directory (an inode, not a path), and every name is one component in
 *   it. On the way there, a symlink is followed only in a directory nobody else can write.
 * - New content is staged in a private directory created there (`mktemp -d`: root's, 0700)
 *   and entered once with `cd -P`; after entering, the script checks that it is the one it
 *   made (ours, 0700, empty, its `..` the directory it came from). Nobody else can create,
 *   rename or replace names inside it, and nobody can move it to another directory (that
 *   needs write permission on it), so its files are written, chmod'ed, chown'ed, fsync'ed and
 *   validated by name without a race, and `rename(new, ../name)` lands in the same
 *   filesystem: the atomic replace of old by new. rename(2) never follows a symlink.
 * - An existing file whose attributes change is opened once (fd 3) and changed through
 *   `/proc/self/fd/3`, which names the open inode whatever happens to its name since. In a
 *   directory others can write, the open file must be the very inode the directory holds
 *   under that name (so a symlink swapped in is never followed).
 *
 * Why this design and not the others the issue lists: targets have POSIX sh and coreutils
 * only (no python3, so no openat/O_NOFOLLOW from one process); a private directory elsewhere
 * (/root, /tmp) is often another filesystem, where `mv` degrades to copy-then-unlink by name;
 * writing as the directory's owner (become_user) cannot give a file another owner than that
 * user. The staging directory inside the destination directory is always on the same
 * filesystem and is as private as one elsewhere.
 */

/**
 * What every script here starts with. `$me`: this script's own PID (the shell reads
 * /proc/self itself; `$$` is the persistent shell's). `trusted_dir`: nobody but us and root
 * can write the current directory. `enter_dir PATH`: `cd` there one component at a time,
 * following a symlink only in a trusted directory: a link that another user could have
 * planted (in their home, in /tmp) would take root anywhere. A component that turns out not
 * to be below where we were (its `..` is elsewhere) was a symlink.
 */
export const PRELUDE = [
  'me=$$; { read -r me _ </proc/self/stat; } 2>/dev/null || :',
  'uid=$(id -u)',
  'trusted_dir() { set -- $(stat -c "%u %a" -- .); { [ "$1" = 0 ] || [ "$1" = "$uid" ]; } && [ $(( 0$2 & 022 )) -eq 0 ]; }',
  'enter_dir() {',
  '  case $1 in /*) cd /;; esac',
  '  set -f; old_ifs=$IFS; IFS=/; set -- $1; IFS=$old_ifs; set +f',
  '  for c; do',
  '    case $c in ""|.) continue;; ..) cd -P ..; continue;; esac',
  '    if trusted_dir; then cd -P -- "$c" 2>/dev/null || return 1; continue; fi',
  '    up=$(stat -c %d:%i -- .); here=$(pwd -P)',
  '    cd -P -- "$c" 2>/dev/null || return 1',
  '    [ "$(stat -c %d:%i -- ..)" = "$up" ] || {',
  '      echo "$c in $here is a symlink, and a user other than $(id -un) can write $here: not following it as $(id -un)" >&2; exit 1; }',
  '  done',
  '}',
];

/**
 * `dirname` and `basename` of a path, computed here: on the host, `$(dirname -- "$p")` would
 * strip every trailing newline of the answer, so a name ending in one would be another name.
 * Each result reaches the script as one quoted word, whatever bytes it holds.
 */
export function splitPath(path: string): { dir: string; name: string } {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') return path === '' ? { dir: '.', name: '' } : { dir: '/', name: '/' };
  const slash = trimmed.lastIndexOf('/');
  if (slash < 0) return { dir: '.', name: trimmed };
  return { dir: trimmed.slice(0, slash).replace(/\/+$/, '') || '/', name: trimmed.slice(slash + 1) };
}

/** Enters the directory of `path` (the script's `$p`; resolved once, as enter_dir does) and sets `$dir` and `$name`. */
export function enterParent(path: string, missing: string): string[] {
  const { dir, name } = splitPath(path);
  return [`dir=${quote(dir)}; name=${quote(name)}`, `enter_dir "$dir" || { echo ${missing} >&2; exit 1; }`];
}

/**
 * A path the plan reached by following the symlink `via` (lineinfile edits a link's target):
 * only when nobody else can write the link's directory, for the same reason as enter_dir.
 */
export function checkFollowed(via: string): string {
  return `( enter_dir ${quote(splitPath(via).dir)} && trusted_dir ) || { echo "$p was reached through the symlink "${quote(via)}", and a user other than $(id -un) can write its directory: not following it as $(id -un)" >&2; exit 1; }`;
}

/**
 * Staging directories are named after the process writing them (`.senex-tmp.PID.XXXXXXXX`).
 * A writer killed with SIGKILL (or a host losing power) cannot remove its own; the next write
 * into the same directory removes those whose writer no longer exists. A PID that was reused
 * keeps its directory until a later write: never removing a live writer's file matters more.
 * `rm -rf` does not follow symlinks, at the top or below (coreutils walks with fds).
 */
export const REMOVE_STALE_STAGES =
  'for f in ./.senex-tmp.*.*; do p=${f##*/.senex-tmp.}; p=${p%%.*}; case $p in ""|*[!0-9]*) continue;; esac; [ -d "/proc/$p" ] || rm -rf -- "$f" 2>/dev/null || :; done';

/**
 * `descend NAME`: `cd -P` into NAME and check that it is a directory of ours whose `..` is where
 * we were: what a racer could have put there instead (a symlink elsewhere, a directory of
 * theirs) is refused. With `fresh` as `$2`, it must also be 0700 and empty (a staging
 * directory just made; the link count is no test of emptiness: btrfs says 1 for any directory).
 */
const DESCEND = [
  'descend() {',
  '  up=$(stat -c %d:%i -- .); here=$(pwd -P)',
  '  cd -P -- "$1" 2>/dev/null && [ "$(stat -c %u -- .):$(stat -c %d:%i -- ..)" = "$uid:$up" ] && { [ -z "${2:-}" ] || { [ "$(stat -c %a -- .)" = 700 ] && [ -z "$(ls -A)" ]; }; } || {',
  '    echo "$1 in $here was replaced while it was being entered: another user can write that directory" >&2; exit 1; }',
  '}',
];

/**
 * Creates and enters the private staging directory (in the current directory) and removes
 * it, with whatever it still holds, on exit. `$stage` is its name in the directory.
 */
export const ENTER_STAGE = [
  ...DESCEND,
  "inside=''",
  'leave_stage() { if [ -n "$inside" ]; then rm -f -- new old; cd -P ..; fi; rmdir -- "$stage" 2>/dev/null || :; }',
  'stage=$(mktemp -d "./.senex-tmp.$me.XXXXXXXX")',
  // Killed (connection gone, SIGTERM) or failed: the staging directory goes, the destination is untouched.
  "trap 'leave_stage' EXIT",
  "trap 'exit 129' HUP INT TERM PIPE",
  'descend "$stage" fresh',
  'inside=1',
  'umask 077',
];

/** Creates one missing directory level in the current directory and enters it (mkdir). */
export const CREATE_LEVEL = [...DESCEND, 'create_level() { mkdir -- "$1"; descend "$1"; }'];

/**
 * Opens `$name` (in the current directory) as fd 3 for changing its attributes through
 * `/proc/self/fd/3`. Following a symlink at `$name` is allowed only when `$1` is `follow` and
 * the directory can be written by nobody but us and root; otherwise the opened inode must be
 * the one the directory holds under that name.
 */
export const PIN = [
  'pin() {',
  '  exec 3<"$name"',
  '  if [ "$1" = follow ] && trusted_dir; then return 0; fi',
  '  [ "$(stat -c %d:%i -- "$name")" = "$(stat -L -c %d:%i /proc/self/fd/3)" ] || {',
  '    echo "$p is a symlink (or was replaced by one) in $dir, which another user can write: not following it as $(id -un)" >&2; exit 1; }',
  '}',
];
