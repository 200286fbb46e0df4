/**
 * The secrets a worker may hand to containers, and the redaction of their values from everything that
 * leaves the worker. The worker's operator decides which names a spec may ask for: GREENLIGHT_SECRETS
 * (names whose values are read from the worker's environment) and GREENLIGHT_SECRETS_FILE (NAME=value
 * lines, not readable by other users). The worker's own credentials are never allowed, whatever the list
 * says: a spec could otherwise copy TEMPORAL_API_KEY into a container it controls.
 */
import { readFileSync, statSync } from 'node:fs';
import { GreenlightError } from './errors';

export const SECRETS_LIST_VAR = 'GREENLIGHT_SECRETS';
export const SECRETS_FILE_VAR = 'GREENLIGHT_SECRETS_FILE';

/** Prefixes of the worker's own credentials and settings (Temporal, greenlight, Docker, clouds, ssh). */
export const NEVER_SECRET_PREFIXES = ['TEMPORAL_', 'GREENLIGHT_', 'DOCKER_', 'AWS_', 'GOOGLE_', 'AZURE_', 'SSH_'] as const;

/**
 * Values shorter than this are not redacted: "1" or "on" would shred every output they appear in, and
 * say nothing. A secret that short is no secret; doctor names it.
 */
export const MIN_REDACTED_LENGTH = 4;

/** What a redacted tail keeps of a command's or container's output: its last lines, at most this many characters. */
export const TAIL_LINES = 20;
export const TAIL_CHARS = 2_000;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface SecretPolicy {
  /** Allowed names and their values (undefined: allowed, but not set where the worker runs). */
  readonly allowed: ReadonlyMap<string, string | undefined>;
}

export function isWorkerCredential(name: string): boolean {
  return NEVER_SECRET_PREFIXES.some((prefix) => name.toUpperCase().startsWith(prefix));
}

function refuseCredential(name: string, source: string): void {
  if (!NAME.test(name)) throw new GreenlightError(`${source}: "${name}" is not an environment variable name (letters, digits, "_"): fix the list`);
  if (isWorkerCredential(name)) {
    throw new GreenlightError(`${source}: ${name} is one of the worker's own settings or credentials (${NEVER_SECRET_PREFIXES.join('*, ')}*), never passed to a container: remove it, and give the app a variable of its own`);
  }
}

/** The NAME=value lines of a secrets file; blank lines and # comments are skipped. */
export function parseSecretsFile(text: string, path: string): Map<string, string> {
  const values = new Map<string, string>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new GreenlightError(`${SECRETS_FILE_VAR} ${path}, line ${index + 1}: expected NAME=value`);
    const name = line.slice(0, eq).trim();
    refuseCredential(name, `${SECRETS_FILE_VAR} ${path}, line ${index + 1}`);
    values.set(name, line.slice(eq + 1));
  });
  return values;
}

export interface SecretFiles {
  read(path: string): string;
  /** The file's permission bits. */
  mode(path: string): number;
}

const realFiles: SecretFiles = { read: (path) => readFileSync(path, 'utf8'), mode: (path) => statSync(path).mode };

function readSecretsFile(path: string, files: SecretFiles): Map<string, string> {
  let mode: number;
  try {
    mode = files.mode(path);
  } catch (err) {
    throw new GreenlightError(`${SECRETS_FILE_VAR}: cannot read ${path} (${(err as Error).message}): fix the path`);
  }
  if ((mode & 0o007) !== 0) throw new GreenlightError(`${SECRETS_FILE_VAR}: ${path} is readable by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 ${path}`);
  return parseSecretsFile(files.read(path), path);
}

/**
 * The policy of this worker, from its environment. Throws GreenlightError when the operator's list names
 * a worker credential, or the secrets file is unreadable or world-readable: the worker refuses to start.
 * A name both listed and in the file takes the file's value.
 */
export function secretPolicyFromEnv(env: Record<string, string | undefined>, files: SecretFiles = realFiles): SecretPolicy {
  const allowed = new Map<string, string | undefined>();
  for (const name of (env[SECRETS_LIST_VAR] ?? '').split(',').map((n) => n.trim()).filter(Boolean)) {
    refuseCredential(name, SECRETS_LIST_VAR);
    allowed.set(name, env[name]);
  }
  const file = env[SECRETS_FILE_VAR];
  if (file) for (const [name, value] of readSecretsFile(file, files)) allowed.set(name, value);
  return { allowed };
}

/** Why `name` cannot be given to `service`'s containers here, with the fix; null when it can. */
export function secretProblem(policy: SecretPolicy, service: string, name: string, field = `services.${service}.secrets`): string | null {
  if (isWorkerCredential(name)) {
    return `${field}: ${name} is one of the worker's own settings or credentials (${NEVER_SECRET_PREFIXES.join('*, ')}*) and is never given to a container: give the app a variable of its own`;
  }
  if (!policy.allowed.has(name)) return `${field}: ${name} is not allowed on this worker: add it to ${SECRETS_LIST_VAR} on the worker (or to its ${SECRETS_FILE_VAR})`;
  if (policy.allowed.get(name) === undefined) return `${field}: ${name} is allowed but not set in the worker's environment: set it where the worker runs`;
  return null;
}

/** The values of `names`, all allowed and set (secretProblem says why not), for a container's environment. */
export function secretValues(policy: SecretPolicy, service: string, names: readonly string[]): { values: Record<string, string>; problems: string[] } {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  for (const name of names) {
    const problem = secretProblem(policy, service, name);
    if (problem) problems.push(problem);
    else values[name] = policy.allowed.get(name)!;
  }
  return { values, problems };
}

/** The forms a value takes in output: itself, JSON-escaped, URL-encoded, and each long-enough line of a multi-line value. */
function formsOf(value: string): string[] {
  const forms = new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]);
  // A tail cut inside a multi-line value (a PEM key) still hides each of its lines.
  if (value.includes('\n')) for (const line of value.split(/\r?\n/)) if (line.trim().length >= MIN_REDACTED_LENGTH) forms.add(line);
  return [...forms].filter((form) => form.length >= MIN_REDACTED_LENGTH);
}

export type Redactor = (text: string) => string;

/**
 * Replaces every value the policy holds (at least MIN_REDACTED_LENGTH long) with `[redacted:NAME]`.
 * Longest first, so a value that contains another is hidden whole.
 */
export function redactorFor(policy: SecretPolicy): Redactor {
  const forms = [...policy.allowed].flatMap(([name, value]) => (value === undefined ? [] : formsOf(value).map((form) => ({ name, form }))));
  forms.sort((a, b) => b.form.length - a.form.length);
  if (forms.length === 0) return (text) => text;
  return (text) => forms.reduce((out, { name, form }) => out.split(form).join(`[redacted:${name}]`), text);
}

/** Every string inside a JSON-like value (an activity's result, a failure's details), redacted. */
export function redactDeep<T>(value: T, redact: Redactor): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item, redact)])) as T;
  }
  return value;
}

/**
 * The redacted end of a command's or container's output: its last TAIL_LINES lines, at most TAIL_CHARS
 * characters, saying how much was left out. Redacted before it is cut, so a cut never halves a value.
 */
export function redactedTail(output: string, redact: Redactor, lines = TAIL_LINES, chars = TAIL_CHARS): string {
  const redacted = redact(output);
  let kept = redacted.split('\n').slice(-lines).join('\n');
  if (kept.length > chars) kept = kept.slice(-chars);
  const dropped = redacted.length - kept.length;
  return dropped > 0 ? `[${dropped} earlier characters not kept]\n${kept}` : kept;
}
