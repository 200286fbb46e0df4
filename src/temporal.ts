/** Temporal connection settings from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS, API key). */
import { readFile } from 'node:fs/promises';
import { Connection, Client, type TLSConfig } from '@temporalio/client';
import { InfrastructureError } from './errors';

export interface ConnectionSettings {
  address: string;
  namespace: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

export async function connectionOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<ConnectionSettings> {
  const address = env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = env.TEMPORAL_NAMESPACE ?? 'default';
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  let tls: TLSConfig | boolean | undefined;
  if (env.TEMPORAL_TLS_CLIENT_CERT_PATH && env.TEMPORAL_TLS_CLIENT_KEY_PATH) {
    tls = {
      clientCertPair: {
        crt: await readFile(env.TEMPORAL_TLS_CLIENT_CERT_PATH),
        key: await readFile(env.TEMPORAL_TLS_CLIENT_KEY_PATH),
      },
      serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME || undefined,
    };
  } else if (apiKey || env.TEMPORAL_TLS === 'true') {
    tls = true;
  }
  return { address, namespace, tls, apiKey };
}

export async function connectClient(env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const { address, namespace, tls, apiKey } = await connectionOptionsFromEnv(env);
  try {
    const connection = await Connection.connect({ address, tls, apiKey, connectTimeout: '5s' });
    return new Client({ connection, namespace });
  } catch (err) {
    throw new InfrastructureError(`cannot reach Temporal at ${address} (${(err as Error).message}): start it with scripts/temporal.sh, or set TEMPORAL_ADDRESS`);
  }
}
