/** The drain of a color on the router's open counts: the fake router plays the counts nginx would report. */
import { describe, expect, it } from 'vitest';
import { drain } from '../../activities/docker';
import type { NginxRouter } from '../../host/nginx';
import { webSpec } from '../../harness/specs';

const spec = webSpec('shop', { image: 'w:1', port: 3000, hostPorts: { blue: 5001, green: 5002 } });

/** A router whose open counts for blue are `blue[i]` on the i-th reading (the last one repeats); null: it does not count. */
function routerReporting(blue: Array<number | null>): { router: NginxRouter; readings: () => number } {
  let i = 0;
  const router = {
    openConnections: async () => {
      const n = blue[Math.min(i++, blue.length - 1)]!;
      return n === null ? null : { web: { blue: n, green: 7 } };
    },
  } as unknown as NginxRouter;
  return { router, readings: () => i };
}

describe('drain', () => {
  it('ends at the second reading of 0 in a row, however long the maximum', async () => {
    const { router, readings } = routerReporting([3, 1, 0, 2, 0, 0, 5]);
    const started = Date.now();
    const end = await drain(router, spec, 'blue', 60_000);
    expect(readings()).toBe(6);
    expect(end.open).toEqual({ web: 0 });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('ends at the maximum with what is still open, the other color not counted', async () => {
    const { router } = routerReporting([2]);
    const end = await drain(router, spec, 'blue', 300);
    expect(end.open).toEqual({ web: 2 });
    expect(end.waitedMs).toBeGreaterThanOrEqual(300);
    expect(end.waitedMs).toBeLessThan(2_000);
  });

  it('a router that does not count (a config from an earlier greenlight) is given the whole maximum', async () => {
    const { router } = routerReporting([null]);
    const end = await drain(router, spec, 'blue', 300);
    expect(end.open).toBeNull();
    expect(end.waitedMs).toBeGreaterThanOrEqual(300);
  });

  it('a drain of 0 reads once and stops at once', async () => {
    const { router, readings } = routerReporting([4]);
    const end = await drain(router, spec, 'blue', 0);
    expect(readings()).toBe(1);
    expect(end.open).toEqual({ web: 4 });
  });
});
