/** The real CLI (bin/greenlight) as a subprocess. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO, TEMPORAL_ADDRESS } from './paths';

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (bin/greenlight) as a subprocess. */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(`${REPO}/bin/greenlight`, args, { env: { ...process.env, TEMPORAL_ADDRESS, ...env }, timeout: 240_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
