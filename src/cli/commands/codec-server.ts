import { readFileSync } from 'node:fs';
import { payloadCodecFromEnv } from '../../codec';
import { ConfigError } from '../../errors';
import { startCodecServer } from '../codec-server';
import type { CommandEnd } from '../exit-codes';

export interface CodecServerCommandOptions {
  host: string;
  port: number;
  /** Browser origins allowed to call it: the Temporal UI's. */
  uiOrigins: string[];
  /** A file holding the bearer token callers must send (GREENLIGHT_CODEC_TOKEN also sets one). */
  tokenFile?: string;
  out: (line: string) => void;
  /** Resolves when the server is to stop (default: SIGINT or SIGTERM). */
  stopped?: Promise<unknown>;
}

function tokenFrom(file: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (!file) return env.GREENLIGHT_CODEC_TOKEN?.trim() || undefined;
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError([`--token-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  if (!token) throw new ConfigError([`--token-file ${file}: the file is empty; put the bearer token in it`]);
  return token;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/** `greenlight codec-server`: decodes and encodes payloads for the Temporal UI with this process's keys, until stopped. */
export async function codecServer(options: CodecServerCommandOptions, env: NodeJS.ProcessEnv = process.env): Promise<CommandEnd> {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new ConfigError([`--port ${options.port}: must be a number between 0 and 65535`]);
  const token = tokenFrom(options.tokenFile, env);
  const codec = payloadCodecFromEnv(env);
  const server = await startCodecServer({ codec, allowedOrigins: options.uiOrigins, token }, options.host, options.port);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  options.out(`greenlight codec-server: http://${options.host}:${port} (POST /decode, /encode) for ${options.uiOrigins.join(', ')}${token ? ', bearer token required' : ''}`);
  try {
    await (options.stopped ?? untilSignal());
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  return 'done';
}
