import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ValidateFunction } from 'ajv';
import { precompileSchemas, staticSchemas } from '../src/load/precompile-schemas.js';
import { AJV_OPTIONS } from '../src/load/validate.js';

const require = createRequire(import.meta.url);

/** Arguments that break a schema in the usual ways: unknown key, wrong types, a missing key. */
const SAMPLES: unknown[] = [{}, { bogus_key: 1 }, { name: 5, state: 'nope', path: [], mode: true, src: {} }, [], 'text', null, { hosts: '' }];

describe('schemas precompiled at build time', () => {
  let precompiled: Map<string, ValidateFunction>;
  before(() => {
    // The build step itself, so the test checks what `npm run build` writes.
    precompiled = (require(precompileSchemas()) as { validators: Map<string, ValidateFunction> }).validators;
  });

  it('has a validator for every static schema, giving the same errors as ajv compiling it at run time', () => {
    const ajv = new (require('ajv') as typeof AjvClass)(AJV_OPTIONS);
    const schemas = staticSchemas();
    assert.ok(schemas.size > 20, `expected the module tables' schemas, got ${schemas.size}`);
    for (const [json, schema] of schemas) {
      const fast = precompiled.get(json);
      assert.ok(fast, `no precompiled validator for ${json.slice(0, 80)}`);
      const slow = ajv.compile(schema);
      for (const data of SAMPLES) {
        assert.equal(fast(data), slow(data), `${json.slice(0, 60)} on ${JSON.stringify(data)}`);
        assert.deepEqual(fast.errors ?? null, slow.errors ?? null, `${json.slice(0, 60)} on ${JSON.stringify(data)}`);
      }
    }
  });
});
