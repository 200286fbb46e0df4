/**
 * Temporal connection settings for the CLI and the worker alike, from Temporal's own environment
 * configuration (@temporalio/envconfig): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TEMPORAL_TLS_* and config profiles (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE). The same commands run
 * against the local dev server (the default), a self-hosted cluster or Temporal Cloud.
 */
import { Connection, Client, isGrpcServiceError, ServiceError } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { InfrastructureError } from './errors';

export const DEFAULT_ADDRESS = '127.0.0.1:7233';

export interface ConnectionSettings {
  address: string;
  namespace: string;
  connectionOptions: NativeConnectionOptions;
}

export function connectionSettings(env: NodeJS.ProcessEnv = process.env): ConnectionSettings {
  let loaded;
  try {
    loaded = loadClientConnectConfig({ profile: env.TEMPORAL_PROFILE, overrideEnvVars: env as Record<string, string> });
  } catch (err) {
    throw new InfrastructureError(`cannot read the Temporal client configuration (${(err as Error).message}): check TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE`);
  }
  const address = loaded.connectionOptions.address ?? DEFAULT_ADDRESS;
  return { address, namespace: loaded.namespace ?? 'default', connectionOptions: { ...loaded.connectionOptions, address } };
}

export async function connectClient(env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const { address, namespace, connectionOptions } = connectionSettings(env);
  try {
    const { address: _address, tls, apiKey, metadata } = connectionOptions;
    const connection = await Connection.connect({ address, tls, apiKey, metadata, connectTimeout: '5s' });
    return new Client({ connection, namespace });
  } catch (err) {
    throw new InfrastructureError(`cannot reach Temporal at ${address} (${(err as Error).message.split('\n')[0]}): start it with scripts/temporal.sh, or set TEMPORAL_ADDRESS / a config profile`);
  }
}

/** gRPC's UNAVAILABLE (@grpc/grpc-js `status.UNAVAILABLE`): the server cannot be reached. */
const GRPC_UNAVAILABLE = 14;

/**
 * A Temporal call that failed because the server went away after the client connected, as the
 * InfrastructureError it is (exit 4, not an unexpected error); any other error as it was.
 */
export function lostTemporal(err: unknown): unknown {
  const grpc = err instanceof ServiceError ? err.cause : err;
  if (!isGrpcServiceError(grpc) || grpc.code !== GRPC_UNAVAILABLE) return err;
  return new InfrastructureError(`lost the connection to Temporal (${grpc.details}): a deploy it already started goes on there; follow it with \`greenlight status\` once Temporal is reachable again`);
}
