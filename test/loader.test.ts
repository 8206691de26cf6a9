import assert from 'node:assert/strict';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadYamlFile } from '../src/load/yaml.js';
import { runCli } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';
import { snapshot } from './helpers/snapshot.js';
import { testdir } from './helpers/testdir.js';

interface Expect {
  args?: string[];
  exit: number;
  message: string;
  where?: string;
  hint?: string;
}

const BAD = join(FIXTURES, 'bad');

// Each directory under test/fixtures/bad holds a broken playbook (or role, inventory...)
// and expect.yml: the exit code, the message, where it must point, and the hint.
describe('bad input: clear errors at file:line:col, nothing run', () => {
  for (const name of readdirSync(BAD).sort()) {
    it(name, async () => {
      const expect = loadYamlFile(join(BAD, name, 'expect.yml')) as Expect;
      const t = testdir();
      try {
        cpSync(join(BAD, name), t.dir, { recursive: true });
        const before = snapshot(t.dir, true);
        const r = await runCli(expect.args ?? ['site.yml', '-i', 'localhost,', '-c', 'local'], { cwd: t.dir });
        assert.equal(r.code, expect.exit, `exit code; stderr:\n${r.stderr}`);
        assert.ok(r.stderr.includes(expect.message), `message '${expect.message}' not in:\n${r.stderr}`);
        if (expect.where) assert.ok(r.stderr.includes(`${expect.where}`), `position '${expect.where}' not in:\n${r.stderr}`);
        if (expect.hint) assert.ok(r.stderr.includes(expect.hint), `hint '${expect.hint}' not in:\n${r.stderr}`);
        assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, 'a stack trace was printed');
        assert.equal(r.stdout.includes('PLAY ['), false, 'a play started');
        assert.deepEqual(snapshot(t.dir, true), before, 'the run touched files');
      } finally {
        t.cleanup();
      }
    });
  }
});
