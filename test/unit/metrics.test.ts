/** The worker's metrics runtime (worker/metrics.ts): the exporter's options, exactly, and a bind failure's message. */
import { describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../src/errors';
import { metricsRuntimeOptions, serveMetrics } from '../../worker/metrics';

describe('the metrics runtime', () => {
  it("keeps the SDK's metric defaults (names its dashboards use) and gives the phase histogram buckets up to an hour", () => {
    expect(metricsRuntimeOptions('127.0.0.1:9464')).toEqual({
      telemetryOptions: {
        metrics: {
          prometheus: {
            bindAddress: '127.0.0.1:9464',
            histogramBucketOverrides: { greenlight_phase_duration_seconds: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600] },
          },
        },
      },
    });
  });

  it('installs the runtime once with those options', () => {
    const installed: unknown[] = [];
    serveMetrics('127.0.0.1:19464', (options) => installed.push(options));
    expect(installed).toEqual([metricsRuntimeOptions('127.0.0.1:19464')]);
  });

  it('a port in use: says which address and how to fix it', () => {
    const busy = () => {
      throw new Error('Failed to start prometheus metrics exporter: Address already in use (os error 98)');
    };
    expect(() => serveMetrics('127.0.0.1:9464', busy)).toThrow(InfrastructureError);
    expect(() => serveMetrics('127.0.0.1:9464', busy)).toThrow(
      'metrics endpoint 127.0.0.1:9464: Failed to start prometheus metrics exporter: Address already in use (os error 98); pick a free port (GREENLIGHT_METRICS_ADDRESS or --metrics-address) or stop what listens there',
    );
  });
});
