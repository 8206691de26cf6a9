import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from './helpers/paths.js';
import { testdir } from './helpers/testdir.js';
import { boardLines, type BoardHost } from '../src/output/host-board.js';
import { style } from '../src/output/style.js';

// The terminal view at 30 hosts: one line per host while they fit, never wider than the
// terminal (a wrapped line breaks the redraw in place), a host still at work when the
// others are done stands out.

const visible = (line: string) => [...line.replace(/\x1b\[[0-9;]*m/g, '')].length;
const fleet = (n: number, at: (i: number) => Partial<BoardHost>): BoardHost[] =>
  Array.from({ length: n }, (_, i) => ({ name: `host-${String(i + 1).padStart(2, '0')}`, task: 'a task', since: 0, done: 1, ...at(i) }));

describe('live view', () => {
  describe('the board (what each redraw shows)', () => {
    const longTask = 'a task with a rather long name that would never fit on one eighty-column line — ünïcödé';

    it('30 hosts on 80 x 45: a line per host, each narrower than the terminal, however long the names', () => {
      const hosts = fleet(30, (i) => ({ name: i === 3 ? 'a-host-name-far-longer-than-twenty-four-characters.example.internal' : `host-${i}`, task: longTask, since: i * 100 }));
      const lines = boardLines(hosts, 10_000, { columns: 80, rows: 45 }, style(true));
      assert.equal(lines.length, 30);
      for (const l of lines) assert.ok(visible(l) <= 79, `${visible(l)} columns: ${l}`);
      assert.match(lines[0]!, /host-0 +10\.0s {2}\[1 done\] +a task with/);
    });

    it('the host still at work when most are done is highlighted; the others say they wait', () => {
      const hosts = fleet(30, (i) => (i === 6 ? { task: 'slow task', since: 1000 } : { task: undefined, done: 2 }));
      const lines = boardLines(hosts, 7200, { columns: 80, rows: 45 }, style(true));
      assert.ok(lines[6]!.startsWith('\x1b[33m\x1b[1m'), lines[6]);
      assert.match(lines[6]!, /host-07 +6\.2s {2}\[1 done\] +slow task/);
      assert.ok(lines.filter((l, i) => i !== 6).every((l) => /waiting for the others/.test(l)));
      // Early in a task, when most hosts are still at work, nobody is a straggler.
      const early = boardLines(fleet(30, (i) => (i < 3 ? { task: undefined } : {})), 500, { columns: 80, rows: 45 }, style(true));
      assert.ok(early.every((l) => !l.includes('\x1b[1m')));
    });

    it('30 hosts on 80 x 24: fits in 23 lines, the hosts at work first (slowest first), the rest counted', () => {
      const hosts = fleet(30, (i) => (i % 10 === 0 ? { since: 5000 - i } : { task: undefined }));
      hosts[5]!.out = 'unreachable: a task';
      const lines = boardLines(hosts, 9000, { columns: 80, rows: 24 }, style(false));
      assert.equal(lines.length, 23);
      assert.deepEqual(lines.slice(0, 4).map((l) => l.split(/\s+/)[1]), ['host-21', 'host-11', 'host-01', 'host-06']);
      assert.match(lines[3]!, /✗ host-06 .*unreachable: a task/);
      assert.equal(lines.at(-1), '  … 8 more of 30 hosts: 8 waiting for the others');
    });
  });

  describe('in tmux, the real command on 30 hosts', function () {
    this.timeout(120_000);
    const tmux = spawnSync('tmux', ['-V']).status === 0;

    // 30 inventory names on the local connection; host-07 takes 6 s where the others take 1.
    function setup(dir: string): void {
      writeFileSync(join(dir, 'inv.ini'), `[fleet]\n${Array.from({ length: 30 }, (_, i) => `host-${String(i + 1).padStart(2, '0')} ansible_connection=local`).join('\n')}\n`);
      writeFileSync(
        join(dir, 'site.yml'),
        `- name: thirty hosts\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: a task with a rather long name that would not fit on one eighty-column line at all\n      command: "sleep {{ 6 if inventory_hostname == 'host-07' else 1 }}"\n    - name: a quick one\n      command: "true"\n`,
      );
    }

    for (const rows of [45, 24]) {
      it(`80 x ${rows}: no line wraps, the view never outgrows the screen, host-07 stands out`, async function () {
        if (!tmux) {
          if (process.env.SENEX_LAB_REQUIRED === '1') assert.fail('tmux is missing, but SENEX_LAB_REQUIRED=1: apt-get install tmux (.ci/run has it)');
          this.skip();
        }
        const t = testdir();
        const session = `senex-live-${process.pid}-${rows}`;
        try {
          setup(t.dir);
          const cmd = `cd ${t.dir} && env -u CI TERM=xterm-256color node ${BIN} site.yml -i inv.ini -f 30; echo "EXIT=$?"; sleep 600`;
          execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '80', '-y', String(rows), cmd]);
          const frames: string[] = [];
          const coloured: string[] = [];
          for (let i = 0; i < 600 && !frames.at(-1)?.includes('EXIT='); i++) {
            // -J joins a wrapped line back together, so a line that wrapped shows as wider than 80.
            frames.push(execFileSync('tmux', ['capture-pane', '-p', '-J', '-t', session], { encoding: 'utf8' }));
            coloured.push(execFileSync('tmux', ['capture-pane', '-p', '-e', '-t', session], { encoding: 'utf8' }));
            await new Promise((r) => setTimeout(r, 50));
          }
          assert.match(frames.at(-1)!, /EXIT=0/, frames.at(-1));
          // The frames of the live view: from the first whole board (the terminal may show the very
          // first draw half done) to the first with the log printed after the play, or none of the board.
          const boardOf = (f: string) => f.split('\n').filter((l) => /\[\d+ done\]|more of 30 hosts/.test(l));
          const start = frames.findIndex((f) => boardOf(f).length === Math.min(30, rows - 1));
          assert.ok(start >= 0, `the live view never showed a whole board:\n${frames.at(-1)}`);
          const stop = frames.findIndex((f, i) => i > start && (boardOf(f).length === 0 || /^TASK \[|PLAY RECAP/m.test(f)));
          const running = frames.slice(start, stop < 0 ? frames.length : stop);
          assert.ok(running.length > 10, `only ${running.length} frames of the live view were seen`);
          for (const f of running) {
            const board = boardOf(f);
            for (const l of board) assert.ok([...l].length <= 80, `a line of ${[...l].length} columns:\n${f}`);
            // Every frame is whole: all 30 hosts, or as many as fit and a line for the rest.
            if (rows === 45) assert.equal(board.length, 30, f);
            else assert.ok(board.length === rows - 1 && /more of 30 hosts/.test(board.at(-1)!), f);
          }
          // While host-07 sleeps, the others wait, and its line alone is bold yellow.
          const slow = running.find((f) => /host-07 +\d+\.\ds {2}\[0 done\]/.test(f) && (f.match(/waiting for the others/g) ?? []).length === (rows === 45 ? 29 : 0));
          assert.ok(slow ?? running.some((f) => /host-07 +\d+\.\ds .*\n {2}… 29 more of 30 hosts: 29 waiting/.test(f)), 'no frame shows host-07 alone at work');
          // tmux writes the attributes its own way (\x1b[0;1m\x1b[33m...).
          const highlighted = (f: string) => f.split('\n').filter((l) => /\x1b\[(?:\d+;)*1m/.test(l) && /\x1b\[(?:\d+;)*33m/.test(l) && /\[\d+ done\]/.test(l));
          assert.ok(
            coloured.some((f) => highlighted(f).length === 1 && highlighted(f)[0]!.includes('host-07')),
            `no frame has host-07 alone highlighted:\n${coloured.filter((f) => highlighted(f).length).slice(-1).join('')}`,
          );
        } finally {
          spawnSync('tmux', ['kill-session', '-t', session]);
          t.cleanup();
        }
      });
    }
  });
});
