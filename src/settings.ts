/** Host-level settings of a worker and the CLI (not part of a deploy spec), from the environment. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_TASK_QUEUE } from './names';

/**
 * The folder that holds greenlight's package.json: this file is src/settings.ts in a checkout and
 * dist/src/settings.js once compiled (in a checkout's dist/ or an installed package).
 */
const PACKAGE_ROOT = resolve(__dirname, __filename.endsWith('.ts') ? '..' : '../..');

/**
 * A checkout has the TypeScript sources beside it; an installed package ships only dist/ (package.json
 * `files`). bin/greenlight tells the two apart the same way.
 */
export function isCheckout(packageRoot = PACKAGE_ROOT): boolean {
  return existsSync(join(packageRoot, 'src', 'settings.ts'));
}

export interface HomeDefaults {
  /** The checkout's root when running from one, else null (an installed package). */
  checkout: string | null;
  uid: number;
  userHome: string;
}

/**
 * Where greenlight keeps its state when GREENLIGHT_HOME is not set. A checkout: `<repo>/.greenlight`,
 * beside the provisioning scripts that use it too. An installed package run by root (a host service):
 * `/var/lib/greenlight`, not `/root/...`, whose 0700 mode would keep nginx's unprivileged workers out of
 * their temp folders under the prefix. Anyone else: `~/.greenlight`, which needs no privileges to create.
 */
export function defaultGreenlightHome({ checkout, uid, userHome }: HomeDefaults): string {
  if (checkout) return join(checkout, '.greenlight');
  return uid === 0 ? '/var/lib/greenlight' : join(userHome, '.greenlight');
}

/** greenlight's state folder on this host: nginx prefix, logs, the dev server's database. */
export function greenlightHome(): string {
  if (process.env.GREENLIGHT_HOME) return resolve(process.env.GREENLIGHT_HOME);
  return defaultGreenlightHome({ checkout: isCheckout() ? PACKAGE_ROOT : null, uid: process.getuid?.() ?? -1, userHome: homedir() });
}

export function taskQueueFromEnv(): string {
  return process.env.GREENLIGHT_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
}

/** The fleet host this machine's worker serves (GREENLIGHT_HOST, or `greenlight worker --host`); null: one host. */
export function hostFromEnv(): string | null {
  return process.env.GREENLIGHT_HOST || null;
}

/** A fleet host's own task queue where the spec sets hosts[].taskQueue (GREENLIGHT_HOST_TASK_QUEUE). */
export function hostTaskQueueFromEnv(): string | undefined {
  return process.env.GREENLIGHT_HOST_TASK_QUEUE || undefined;
}
