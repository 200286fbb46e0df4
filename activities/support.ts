/** Helpers shared by the activities: heartbeating, cancellable sleep, non-retryable failures. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { InfrastructureError } from '../src/errors';
import { hostOfSpec } from '../src/config/hosts';
import type { DeploySpec } from '../src/config/schema';
import { FAILURE_TYPES, PINNED_ENGINE } from '../src/names';
import { redactDeep, redactedTail, type Redactor } from '../src/secrets';
import type Docker from 'dockerode';
import { ContainerNameTakenError, type DockerHost } from '../host/docker';
import type { EngineIdentity } from '../src/types';

export const HEARTBEAT_EVERY_MS = 1_000;

/** Latest heartbeat details per running activity: what recordProgress set, sent by every later heartbeat. */
const latestDetails = new WeakMap<Context, unknown>();

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * Runs `fn` while heartbeating every second (with the latest details), so a worker that dies is noticed
 * within the heartbeat timeout, and cancellation reaches the activity. Until the attempt records progress
 * of its own, it heartbeats the previous attempt's details, so a retry that dies early keeps the resume
 * point. Outside an activity it just runs fn. `heartbeating` wraps every activity in it: do not nest it.
 */
async function withHeartbeat<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = currentContext();
  if (!ctx) return fn();
  if (!latestDetails.has(ctx)) latestDetails.set(ctx, ctx.info.heartbeatDetails);
  const beat = () => ctx.heartbeat(latestDetails.get(ctx));
  beat();
  const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Records the running activity's resume point: heartbeated now and with every later heartbeat of this
 * attempt, and read back by the next attempt through lastHeartbeat(). Outside an activity it does nothing.
 */
export function recordProgress(details: unknown): void {
  const ctx = currentContext();
  if (!ctx) return;
  latestDetails.set(ctx, details);
  ctx.heartbeat(details);
}

/** The details of the last heartbeat of a previous attempt (resume point), if any. */
export function lastHeartbeat<T>(): T | undefined {
  return currentContext()?.info.heartbeatDetails as T | undefined;
}

/** Docker's socket or nginx unreachable: a typed, retryable failure the CLI reports as exit 4. */
function asInfrastructureFailure(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException & { address?: string };
  const dockerDown = (e?.code === 'ECONNREFUSED' || e?.code === 'ENOENT') && /docker\.sock/.test(`${e.address ?? ''} ${e.message}`);
  if (err instanceof InfrastructureError || dockerDown) {
    return ApplicationFailure.create({ type: FAILURE_TYPES.infrastructure, message: dockerDown ? `Docker engine unreachable (${e.message}): start dockerd (scripts/docker.sh)` : e.message, nonRetryable: false });
  }
  return err;
}

/**
 * Wraps every activity so it heartbeats while it runs (a dead worker is noticed within the heartbeat
 * timeout) and reports an unreachable Docker engine or nginx as InfrastructureUnavailable. It also
 * refuses a step meant for another host: a fleet host's spec (`workerHost`), or a step pinned to
 * another Docker engine (`engine`: this worker's, asked only when a step is pinned).
 */
export function heartbeating<A extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: A, workerHost: string | null = null, engine?: () => Promise<EngineIdentity>): A {
  const wrapped: Record<string, unknown> = {};
  for (const [name, activity] of Object.entries(activities)) {
    wrapped[name] = (...given: never[]) => {
      const { args, pinned } = takePin(given);
      refuseOtherHosts(args, workerHost);
      return withHeartbeat(async () => {
        if (pinned && engine) await refuseOtherEngine(pinned, engine);
        return activity(...args);
      }).catch((err: unknown) => {
        throw asInfrastructureFailure(err);
      });
    };
  }
  return wrapped as A;
}

/** The step's own arguments, and the engine it is pinned to (the trailing argument steps.ts adds). */
function takePin(given: never[]): { args: never[]; pinned: EngineIdentity | null } {
  const last = given[given.length - 1] as unknown;
  if (typeof last !== 'object' || last === null || !(PINNED_ENGINE in last)) return { args: given, pinned: null };
  return { args: given.slice(0, -1), pinned: (last as Record<string, EngineIdentity>)[PINNED_ENGINE]! };
}

/**
 * A one-host deploy runs on the engine its first step found (workflows/phases.ts). Several workers on
 * other machines may poll the same queue: a step that reaches one of them is refused before it touches
 * anything, retryably, so Temporal gives it to a worker again until it reaches the deploy's machine.
 */
async function refuseOtherEngine(pinned: EngineIdentity, engine: () => Promise<EngineIdentity>): Promise<void> {
  const here = await engine();
  if (!pinned.id || pinned.id === here.id) return;
  throw ApplicationFailure.create({
    type: FAILURE_TYPES.wrongHost,
    nonRetryable: false,
    message: `this deploy runs on ${pinned.name} (Docker engine ${pinned.id}); this worker is on ${here.name} (Docker engine ${here.id}): run one worker per Docker host, or give each host its own queue with --host`,
  });
}

/**
 * A fleet deploy passes each host its own spec (`hosts` naming only that host). A worker that receives
 * another host's step (started with the wrong --host or task queue) refuses it before touching anything:
 * one deploy is never silently split over two machines.
 */
function refuseOtherHosts(args: readonly unknown[], workerHost: string | null): void {
  for (const arg of args) {
    if (typeof arg !== 'object' || arg === null || !Array.isArray((arg as { hosts?: unknown }).hosts)) continue;
    const wanted = hostOfSpec(arg as { hosts: NonNullable<DeploySpec['hosts']> });
    if (wanted === null || wanted === workerHost) return;
    const queue = currentContext()?.info.taskQueue ?? '?';
    const here = workerHost ? `the worker of host ${workerHost}` : 'a worker started without --host';
    throw ApplicationFailure.create({
      type: FAILURE_TYPES.wrongHost,
      nonRetryable: true,
      message: `a step for host ${wanted} reached ${here} (task queue ${queue}): run \`greenlight worker --host ${wanted}\` on ${wanted} itself, and give every host its own task queue`,
    });
  }
}

/** The error with the secrets' values hidden in everything Temporal stores of it: message, stack, details, causes. */
function redactError(err: unknown, redact: Redactor, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 5) return err;
  const writable = err as { message: string; stack?: string; details?: unknown; cause?: unknown };
  writable.message = redact(err.message);
  if (err.stack) writable.stack = redact(err.stack);
  if (err instanceof ApplicationFailure && err.details) Object.assign(err, { details: redactDeep(err.details, redact) });
  if (err.cause) writable.cause = redactError(err.cause, redact, depth + 1);
  return err;
}

/**
 * Wraps every activity so that nothing it returns or throws carries a secret's value: results and
 * failures are stored in workflow history (and failures logged by the worker). The one choke point, so
 * an error that quotes a container's environment (Docker's, an app's) is covered too. `echoing` names
 * activities whose result is their own input checked (validateSpec): already in history, and changing
 * it would change what is deployed.
 */
export function redacting<A extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: A, redact: Redactor, echoing: ReadonlyArray<keyof A> = []): A {
  const wrapped: Record<string, unknown> = {};
  for (const [name, activity] of Object.entries(activities)) {
    const keepResult = echoing.includes(name);
    wrapped[name] = async (...args: never[]) => {
      try {
        const result = await activity(...args);
        return keepResult ? result : redactDeep(result, redact);
      } catch (err) {
        throw redactError(err, redact);
      }
    };
  }
  return wrapped as A;
}

/** Sleeps, but wakes with an error if the activity is cancelled. */
export async function sleep(ms: number): Promise<void> {
  const ctx = currentContext();
  if (ctx) return ctx.sleep(ms);
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Time as activities see it; tests inject a fake one to run deadlines and windows without waiting. */
export interface Clock {
  now(): number;
  /** Waits `ms`; inside an activity, wakes with an error if the activity is cancelled. */
  sleep(ms: number): Promise<void>;
}

/** The real clock, and the cancellable sleep above. */
export const activityClock: Clock = { now: () => Date.now(), sleep };

export function fail(type: string, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: details === undefined ? undefined : [details] });
}

/** A ContainerNameTakenError as the deploy's non-retryable failure; other errors unchanged. */
export function asNameTaken(err: unknown, field: string): unknown {
  return err instanceof ContainerNameTakenError ? fail(FAILURE_TYPES.containerNameTaken, `${field}: ${err.message}`) : err;
}

/** One command of a list run in one-off containers: how it is named in messages and its container. */
export interface OneOffCommand {
  /** "validation command \"lint\"", "preview check \"smoke\"". */
  what: string;
  /** The spec field of its name and timeout ("validate.commands[0]"). */
  field: string;
  name: string;
  run: string[];
  timeout: number;
  options: Docker.ContainerCreateOptions;
}

/**
 * Runs one one-off container to its end (or its timeout: then stopped and removed, exit code null) and
 * returns its output as a redacted, bounded tail: what the validation commands, the preview checks, the
 * migration and the hooks keep of it (it may reach workflow history). A taken name is reported under `field`.
 */
export async function runOneOffStep({ host, redact }: { host: DockerHost; redact: Redactor }, options: Docker.ContainerCreateOptions, timeoutMs: number, field: string): Promise<{ exitCode: number | null; output: string }> {
  const run = await host.runOneOff(options, timeoutMs).catch((err: unknown) => {
    throw asNameTaken(err, field);
  });
  return { exitCode: run.exitCode, output: redactedTail(run.output, redact) };
}

/**
 * Runs each command in its one-off container, in order, and stops at the first that fails (a time-out
 * or a non-zero exit: a non-retryable `failureType`). Results and failures carry a redacted tail of the
 * output only: they are stored in workflow history. Validation commands and preview checks run here.
 */
export async function runOneOffCommands(deps: { host: DockerHost; redact: Redactor }, commands: readonly OneOffCommand[], failureType: string): Promise<Array<{ name: string; exitCode: number; output: string }>> {
  const results: Array<{ name: string; exitCode: number; output: string }> = [];
  for (const command of commands) {
    const { exitCode, output } = await runOneOffStep(deps, command.options, command.timeout, `${command.field}.name`);
    if (exitCode === null) {
      throw fail(failureType, `${command.what} timed out after ${command.timeout} ms (${command.field}.timeout)\n${output}`);
    }
    results.push({ name: command.name, exitCode, output });
    if (exitCode !== 0) {
      throw fail(failureType, `${command.what} (${command.run.join(' ')}) exited with ${exitCode}:\n${output}`, results);
    }
  }
  return results;
}
