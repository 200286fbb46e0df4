/**
 * The worker's Prometheus endpoint: the SDK's runtime telemetry (workflow and activity task latencies,
 * polls, slots: temporal_...) and greenlight's own metrics (METRICS, emitted by the deploy workflow), on
 * one `/metrics`. Off unless asked for (GREENLIGHT_METRICS_ADDRESS, `greenlight worker --metrics-address`).
 */
import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import { InfrastructureError } from '../src/errors';
import { METRICS, PHASE_DURATION_BUCKETS } from '../src/names';

/**
 * The runtime's telemetry for an endpoint on `bindAddress`. The SDK's own metrics keep their defaults
 * (temporal_ prefix, no _total suffix, latencies in milliseconds), the names Temporal's SDK dashboards
 * query; greenlight's carry their full names (METRICS) and the phase histogram its own buckets.
 */
export function metricsRuntimeOptions(bindAddress: string): RuntimeOptions {
  return {
    telemetryOptions: {
      metrics: {
        prometheus: {
          bindAddress,
          histogramBucketOverrides: { [METRICS.phaseDuration]: [...PHASE_DURATION_BUCKETS] },
        },
      },
    },
  };
}

/**
 * Installs the SDK runtime with the endpoint on `bindAddress`: before any connection or worker exists (the
 * runtime is made once per process). Fails, saying where and how to fix it, if the address cannot be bound.
 */
export function serveMetrics(bindAddress: string, install: (options: RuntimeOptions) => unknown = (options) => Runtime.install(options)): void {
  try {
    install(metricsRuntimeOptions(bindAddress));
  } catch (err) {
    throw new InfrastructureError(`metrics endpoint ${bindAddress}: ${(err as Error).message}; pick a free port (GREENLIGHT_METRICS_ADDRESS or --metrics-address) or stop what listens there`);
  }
}
