/**
 * Running a phase on every host of a fleet at once. One host is simply run (the commands of a one-host
 * deploy are exactly those it always issued); several run in one cancellation scope, so the first
 * failure cancels the others' steps (steps that change a host are waited for, per their profile)
 * before it is thrown, naming its host: compensation never races a step still running on another host.
 */
import { CancellationScope, isCancellation, TimeoutFailure } from '@temporalio/workflow';
import { failureTypeOf, messageOf } from './failures';
import { RollbackRequested } from './gate';

interface Named {
  name: string | null;
  hostTimeoutMs?: number;
}

/** What went wrong on `host`, in words: a step no worker picked up says so. */
export function onHost(host: Named, err: unknown): string {
  for (let current = err as { cause?: unknown } | undefined; current; current = current.cause as typeof current) {
    if (current instanceof TimeoutFailure && current.timeoutType === 'SCHEDULE_TO_START') {
      return `${host.name}: no worker picked up its step within ${host.hostTimeoutMs ?? '?'} ms (fleet.hostTimeout): is \`greenlight worker --host ${host.name}\` running there?`;
    }
    if (!current.cause || typeof current.cause !== 'object') break;
  }
  return `${host.name}: ${messageOf(err)}`;
}

export async function everyHost<H extends Named, T>(hosts: readonly H[], step: (host: H) => Promise<T>): Promise<T[]> {
  if (hosts.length === 1) return [await step(hosts[0]!)];
  const scope = new CancellationScope();
  const runs = hosts.map((host) =>
    scope.run(() =>
      step(host).catch((err: unknown) => {
        throw err instanceof RollbackRequested || isCancellation(err) ? err : new HostsFailed([{ host, err }]);
      }),
    ),
  );
  try {
    return await Promise.all(runs);
  } catch (err) {
    scope.cancel();
    await Promise.allSettled(runs);
    throw err;
  }
}

/** Runs `step` on every host to its end, whatever the others do; throws the failures together. */
export async function eachHostToTheEnd<H extends Named>(hosts: readonly H[], step: (host: H) => Promise<void>): Promise<void> {
  const results = await Promise.allSettled(hosts.map((host) => step(host)));
  const failed = results.flatMap((result, index) => (result.status === 'rejected' ? [{ host: hosts[index]!, err: result.reason as unknown }] : []));
  if (failed.length === 0) return;
  if (hosts.length === 1) throw failed[0]!.err;
  throw new HostsFailed(failed);
}

/**
 * A step failed on one or more hosts: the message names each host with its reason, and `type` is the
 * first one's failure type (what `failureTypeOf` reads), so the CLI maps it as it would on one host.
 */
export class HostsFailed extends Error {
  readonly type: string | null;

  constructor(readonly failures: Array<{ host: Named; err: unknown }>) {
    super(failures.map(({ host, err }) => onHost(host, err)).join('; '));
    this.type = failureTypeOf(failures[0]?.err);
  }
}
