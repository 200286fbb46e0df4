import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors';
import { deploySpecSchema, type DeploySpec } from './schema';

function formatPath(path: PropertyKey[]): string {
  return path.length === 0 ? '(spec)' : path.map(String).join('.');
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => `${where === '(spec)' ? key : `${where}.${key}`}: unknown key: remove it or check its spelling`)
      .join('\n');
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    if (issue.message.startsWith('is required')) return `${where}: ${issue.message}`;
    return `${where}: is required${issue.message.startsWith('Invalid input') ? '' : ` (${issue.message})`}`;
  }
  if (issue.code === 'invalid_key' && issue.issues.length > 0) {
    return `${where}: ${issue.issues.map((inner) => inner.message).join('; ')}`;
  }
  return `${where}: ${issue.message}`;
}

/** Validates a parsed spec object; throws ConfigError listing every problem. */
export function parseDeploySpec(input: unknown): DeploySpec {
  // reportInput: tells a missing field (input undefined) from one of the wrong type.
  const result = deploySpecSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(result.error.issues.flatMap((issue) => formatIssue(issue).split('\n')));
  }
  return result.data;
}

/** Applies `--image service=image` overrides to a raw spec before validation. */
export function withImageOverrides(raw: unknown, overrides: Record<string, string>): unknown {
  if (Object.keys(overrides).length === 0) return raw;
  const spec = (raw ?? {}) as { services?: Record<string, Record<string, unknown>> };
  const services = { ...(spec.services ?? {}) };
  const unknown = Object.keys(overrides).filter((name) => !(name in services));
  if (unknown.length > 0) {
    throw new ConfigError(unknown.map((name) => `--image ${name}=...: no service "${name}" in the spec: use one of ${Object.keys(services).join(', ') || '(none)'}`));
  }
  for (const [name, image] of Object.entries(overrides)) services[name] = { ...services[name], image };
  return { ...spec, services };
}

export function parseDeploySpecYaml(text: string, source = 'spec'): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${source}: YAML syntax error: ${e.message.split('\n')[0]}`));
  }
  return doc.toJS();
}

export async function loadDeploySpec(file: string, imageOverrides: Record<string, string> = {}): Promise<DeploySpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read the spec file (${(err as NodeJS.ErrnoException).code ?? String(err)}): pass an existing file with -f`]);
  }
  return parseDeploySpec(withImageOverrides(parseDeploySpecYaml(text, file), imageOverrides));
}
