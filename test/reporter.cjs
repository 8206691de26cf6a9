'use strict';
// Mocha's spec reporter, plus the closing line CI counts: "N passed, N failed, N skipped".
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class CountingSpec extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      // Spec prints its epilogue on the same event; print ours after it.
      setImmediate(() => process.stdout.write(`${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`));
    });
  }
}
module.exports = CountingSpec;
