import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors';
import { deploySpecSchema, reservedKeyMessage, type DeploySpec } from './schema';

function formatPath(path: PropertyKey[]): string {
  return path.length === 0 ? '(spec)' : path.map(String).join('.');
}

/** Keys other deploy tools use for what greenlight names otherwise: the unknown-key message says which. */
const OTHER_NAMES: Record<string, string> = {
  resources: 'resource limits are `limits: { memory, cpus, pids }` here: rename it to limits',
  cpu: 'the CPU limit is `cpus` (e.g. cpus: 0.5): rename it',
};

function formatIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => `${where === '(spec)' ? key : `${where}.${key}`}: unknown key: ${(Object.hasOwn(OTHER_NAMES, key) && OTHER_NAMES[key]) || 'remove it or check its spelling'}`)
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

/**
 * Paths of every own `__proto__` key (YAML and JSON.parse make them): zod skips such a key without a
 * word, so an env or service named so would vanish. Shared nodes (YAML aliases) are walked once.
 */
function protoKeyPaths(node: unknown, path: PropertyKey[] = [], seen = new Set<object>()): string[] {
  if (typeof node !== 'object' || node === null || seen.has(node)) return [];
  seen.add(node);
  const here = Object.hasOwn(node, '__proto__') ? [formatPath([...path, '__proto__'])] : [];
  return [...here, ...Object.entries(node).flatMap(([key, value]) => protoKeyPaths(value, [...path, Array.isArray(node) ? Number(key) : key], seen))];
}

/** Validates a parsed spec object; throws ConfigError listing every problem. */
export function parseDeploySpec(input: unknown): DeploySpec {
  // reportInput: tells a missing field (input undefined) from one of the wrong type.
  const result = deploySpecSchema.safeParse(input, { reportInput: true });
  const protoPaths = protoKeyPaths(input);
  if (!result.success || protoPaths.length > 0) {
    const issues = (result.error?.issues ?? []).flatMap((issue) => formatIssue(issue).split('\n'));
    throw new ConfigError([
      ...protoPaths.map((where) => `${where}: ${reservedKeyMessage('__proto__')}`),
      ...issues.filter((issue) => !protoPaths.some((where) => issue.startsWith(`${where}: `))),
    ]);
  }
  return result.data;
}

/** Applies `--image service=image` overrides to a raw spec before validation. */
export function withImageOverrides(raw: unknown, overrides: Record<string, string>): unknown {
  if (Object.keys(overrides).length === 0) return raw;
  const spec = (raw ?? {}) as { services?: Record<string, Record<string, unknown>> };
  const services = { ...(spec.services ?? {}) };
  const unknown = Object.keys(overrides).filter((name) => !Object.hasOwn(services, name));
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
  try {
    return doc.toJS();
  } catch (err) {
    // yaml refuses aliases that expand past its count (a "billion laughs" bomb) with a ReferenceError.
    throw new ConfigError([`${source}: YAML cannot be read: ${(err as Error).message.split('\n')[0]}: write the values out instead of repeating aliases`]);
  }
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
