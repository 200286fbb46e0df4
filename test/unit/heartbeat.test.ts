/**
 * The heartbeating wrapper every activity runs in (activities/support.ts): one heartbeat at the start
 * and one a second, carrying the previous attempt's details until the activity records its own progress.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HEARTBEAT_EVERY_MS, heartbeating, lastHeartbeat, recordProgress } from '../../activities/support';
import { InfrastructureError } from '../../src/errors';
import { FAILURE_TYPES, PINNED_ENGINE } from '../../src/names';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

/** An activity that records `progress` (if given), then waits until `finish()` is called. */
function gatedActivity(progress?: unknown) {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const activity = async () => {
    if (progress !== undefined) recordProgress(progress);
    await finished;
    return lastHeartbeat();
  };
  return { activities: heartbeating({ activity }), finish: () => finish() };
}

function environment(heartbeatDetails?: unknown) {
  const env = new MockActivityEnvironment({ heartbeatDetails });
  const beats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => beats.push(details));
  return { env, beats };
}

describe('heartbeating', () => {
  it('heartbeats at the start and every second until the activity ends', async () => {
    const { activities, finish } = gatedActivity();
    const { env, beats } = environment();
    const run = env.run(activities.activity);
    expect(beats).toEqual([undefined]);
    await vi.advanceTimersByTimeAsync(3 * HEARTBEAT_EVERY_MS);
    expect(beats).toHaveLength(4);
    finish();
    await run;
    await vi.advanceTimersByTimeAsync(3 * HEARTBEAT_EVERY_MS);
    expect(beats).toHaveLength(4);
  });

  it("keeps the previous attempt's details until the activity records its own", async () => {
    const { activities, finish } = gatedActivity();
    const { env, beats } = environment({ startedAt: 1, probes: 40 });
    const run = env.run(activities.activity);
    await vi.advanceTimersByTimeAsync(HEARTBEAT_EVERY_MS);
    finish();
    expect(await run).toEqual({ startedAt: 1, probes: 40 });
    expect(beats).toEqual([
      { startedAt: 1, probes: 40 },
      { startedAt: 1, probes: 40 },
    ]);
  });

  it('carries recorded progress in every later heartbeat', async () => {
    const { activities, finish } = gatedActivity({ startedAt: 2, probes: 6 });
    const { env, beats } = environment({ startedAt: 1, probes: 40 });
    const run = env.run(activities.activity);
    await vi.advanceTimersByTimeAsync(2 * HEARTBEAT_EVERY_MS);
    finish();
    await run;
    expect(beats).toEqual([
      { startedAt: 1, probes: 40 },
      { startedAt: 2, probes: 6 },
      { startedAt: 2, probes: 6 },
      { startedAt: 2, probes: 6 },
    ]);
  });

  it('reports an InfrastructureError as a retryable InfrastructureUnavailable failure', async () => {
    const activities = heartbeating({
      activity: async () => {
        throw new InfrastructureError('nginx admin socket /x/admin.sock: connect ENOENT');
      },
    });
    const failure = await activities.activity().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: FAILURE_TYPES.infrastructure, nonRetryable: false, message: 'nginx admin socket /x/admin.sock: connect ENOENT' });
  });

  it('outside an activity it only runs the function', async () => {
    const activities = heartbeating({ activity: async (n: number) => (recordProgress({ n }), n + 1) });
    expect(await activities.activity(1)).toBe(2);
  });
});

describe('heartbeating, a step pinned to a Docker engine (one host per deploy)', () => {
  const hostA = { id: 'AAAA:1111', name: 'host-a' };
  const hostB = { id: 'BBBB:2222', name: 'host-b' };
  const pinnedTo = (engine: typeof hostA) => ({ [PINNED_ENGINE]: engine });

  function worker(engine: typeof hostA) {
    const ran: unknown[][] = [];
    let asked = 0;
    const activities = heartbeating(
      { switchTraffic: async (...args: unknown[]) => (ran.push(args), 'switched') },
      null,
      async () => (asked++, engine),
    );
    return { activities: activities as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>, ran, asked: () => asked };
  }

  it('refuses, retryably and before it touches anything, a step pinned to another engine, naming both hosts', async () => {
    const onB = worker(hostB);
    const failure = await onB.activities.switchTraffic!({ app: 'shop' }, 'green', pinnedTo(hostA)).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({
      type: FAILURE_TYPES.wrongHost,
      nonRetryable: false,
      message: 'this deploy runs on host-a (Docker engine AAAA:1111); this worker is on host-b (Docker engine BBBB:2222): run one worker per Docker host, or give each host its own queue with --host',
    });
    expect(onB.ran).toEqual([]);
  });

  it("runs a step pinned to its own engine, without the pin among the step's arguments", async () => {
    const onA = worker(hostA);
    expect(await onA.activities.switchTraffic!({ app: 'shop' }, 'green', pinnedTo(hostA))).toBe('switched');
    expect(onA.ran).toEqual([[{ app: 'shop' }, 'green']]);
  });

  it('runs an unpinned step (a deploy started before the pin) without asking the engine', async () => {
    const onB = worker(hostB);
    expect(await onB.activities.switchTraffic!({ app: 'shop' }, 'green')).toBe('switched');
    expect(onB.ran).toEqual([[{ app: 'shop' }, 'green']]);
    expect(onB.asked()).toBe(0);
  });
});
