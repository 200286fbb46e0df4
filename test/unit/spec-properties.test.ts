/**
 * Property-based sweep of the spec loader (fast-check, 10,000 generated specs, seeded): nothing crashes,
 * every input is either a valid spec or a ConfigError whose every issue names a path of the input, and
 * every valid spec validates again to itself (the worker re-validates the workflow's copy) and renders
 * its nginx config. That config passes `nginx -t`: test/e2e/spec-nginx.test.ts, on the same inputs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderAppConfig, structureHash } from '../../host/builders/nginx';
import { parseDeploySpec, parseDeploySpecYaml } from '../../src/config/load';
import { deploySpecJsonSchema, type DeploySpec } from '../../src/config/schema';
import { ConfigError } from '../../src/errors';
import { generatedInput, PROPERTY_RUNS, PROPERTY_SEED, type GeneratedInput } from '../helpers/spec-arbitrary';

/** The spec's own top-level fields (a missing one is named although the input lacks it). */
const SPEC_FIELDS = Object.keys((deploySpecJsonSchema() as { properties: Record<string, unknown> }).properties);

/** True if `issue` starts with a path: "(spec): ", the source, or a spec field or key of `raw`, then "." or ": ". */
function namesAPath(issue: string, raw: unknown, source: string): boolean {
  if (issue.startsWith('(spec): ') || issue.startsWith(`${source}: `)) return true;
  const keys = [...SPEC_FIELDS, ...(typeof raw === 'object' && raw !== null ? Object.keys(raw) : [])];
  return keys.some((key) => issue.startsWith(`${key}: `) || issue.startsWith(`${key}.`));
}

/** Loads one generated input as the CLI does: 'valid' or 'invalid'; anything but a ConfigError is thrown. */
function load(input: GeneratedInput): { verdict: 'valid'; spec: DeploySpec } | { verdict: 'invalid'; error: ConfigError; raw: unknown } {
  let raw: unknown = input.kind === 'object' ? input.spec : undefined;
  try {
    if (input.kind === 'yaml') raw = parseDeploySpecYaml(input.text, 'greenlight.yml');
    return { verdict: 'valid', spec: parseDeploySpec(raw) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { verdict: 'invalid', error: err, raw };
  }
}

describe(`spec loader, ${PROPERTY_RUNS} generated specs (seed ${PROPERTY_SEED})`, () => {
  it('valid, or a ConfigError naming a path; valid specs re-validate to themselves and render', () => {
    const verdicts = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(generatedInput, (input) => {
        const loaded = load(input);
        verdicts[loaded.verdict]++;
        if (loaded.verdict === 'invalid') {
          expect(loaded.error.issues.length).toBeGreaterThan(0);
          for (const issue of loaded.error.issues) {
            expect(namesAPath(issue, loaded.raw, 'greenlight.yml'), `issue names no path of the input: ${issue}`).toBe(true);
            expect(issue).toMatch(/: \S/);
          }
          return;
        }
        expect(parseDeploySpec(structuredClone(loaded.spec))).toEqual(loaded.spec);
        const text = renderAppConfig(loaded.spec, { live: 'blue', backup: null });
        expect(text).toContain(`# greenlight:structure ${structureHash(loaded.spec)}`);
      }),
      { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
    );
    // A generator that only made valid (or only invalid) specs would check half of the property.
    expect(verdicts.valid + verdicts.invalid).toBeGreaterThanOrEqual(PROPERTY_RUNS);
    expect(verdicts.valid).toBeGreaterThan(PROPERTY_RUNS / 5);
    expect(verdicts.invalid).toBeGreaterThan(PROPERTY_RUNS / 5);
    console.log(`spec properties (seed ${PROPERTY_SEED}): ${verdicts.valid} valid, ${verdicts.invalid} invalid`);
  }, 120_000);
});
