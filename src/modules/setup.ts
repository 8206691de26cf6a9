import { systemFactsProbe } from './facts/system.js';
import { defineHostModule } from './types.js';

/** `setup`: gathers facts (what `gather_facts: true` runs before a play). */
export const setup = defineHostModule<{ gather_subset?: string | string[]; filter?: string }>({
  name: 'setup',
  schema: {
    type: 'object',
    properties: { gather_subset: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] }, filter: { type: 'string' } },
    additionalProperties: false,
  },
  probe: () => ({ facts: systemFactsProbe() }),
  plan: (_args, facts) => ({ changes: [], facts: facts.facts as Record<string, unknown>, result: { ansible_facts: facts.facts } }),
});
