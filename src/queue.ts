/**
 * The deploy queue's state and its transitions (`greenlight deploy --queue`): pure, so the queue
 * workflow (workflows/queue.ts) and its unit tests share them. At most one request waits: a newer one
 * supersedes it (the latest request wins), and the superseded one learns which request replaced it.
 */
import type { DeployInput } from './types';

/** One `greenlight deploy --queue`: the CLI's own id for it and the deploy it asks for. */
export interface QueueRequest {
  requestId: string;
  requestedBy?: string;
  /** When the CLI asked (its clock), for `greenlight status`. */
  requestedAt: string;
  /** What the CLI would have started itself (secrets by name only, as every DeployInput). */
  input: DeployInput;
}

export type QueueOutcome =
  | { requestId: string; requestedBy?: string; result: 'started'; deployId: string; runId: string; startedAt: string }
  | { requestId: string; requestedBy?: string; result: 'superseded'; by: { requestId: string; requestedBy?: string; requestedAt: string } };

export interface QueueState {
  /** The request waiting for the running deploy to end (the latest one). */
  waiting: QueueRequest | null;
  /** The request the queue is starting right now: a request arriving meanwhile waits behind it. */
  starting: QueueRequest | null;
  /** The last requests' ends, newest last (kept across continue-as-new, at most OUTCOMES_KEPT). */
  outcomes: QueueOutcome[];
}

export const OUTCOMES_KEPT = 50;

export const EMPTY_QUEUE: QueueState = { waiting: null, starting: null, outcomes: [] };

function withOutcome(state: QueueState, outcome: QueueOutcome): QueueState {
  return { ...state, outcomes: [...state.outcomes, outcome].slice(-OUTCOMES_KEPT) };
}

function superseded(request: QueueRequest, by: QueueRequest): QueueOutcome {
  return { requestId: request.requestId, requestedBy: request.requestedBy, result: 'superseded', by: { requestId: by.requestId, requestedBy: by.requestedBy, requestedAt: by.requestedAt } };
}

/** Whether the queue knows the request already (a signal sent twice by a retrying client). */
function knows(state: QueueState, requestId: string): boolean {
  return state.waiting?.requestId === requestId || state.starting?.requestId === requestId || state.outcomes.some((o) => o.requestId === requestId);
}

/** A new request: it waits, and the one that waited (if any) is superseded by it. */
export function acceptRequest(state: QueueState, request: QueueRequest): QueueState {
  if (knows(state, request.requestId)) return state;
  const next = { ...state, waiting: request };
  return state.waiting ? withOutcome(next, superseded(state.waiting, request)) : next;
}

/** The queue begins starting the waiting request's deploy. */
export function beginStart(state: QueueState): QueueState {
  return { ...state, starting: state.waiting, waiting: null };
}

/** The deploy of the starting request was started (`runId` of deploy `deployId`). */
export function started(state: QueueState, deployId: string, runId: string, startedAt: string): QueueState {
  const request = state.starting;
  if (!request) return state;
  return withOutcome({ ...state, starting: null }, { requestId: request.requestId, requestedBy: request.requestedBy, result: 'started', deployId, runId, startedAt });
}

/**
 * Another deploy of the app still runs: the starting request waits again, unless a newer request came
 * while it was being started, which then supersedes it.
 */
export function stillRunning(state: QueueState): QueueState {
  const request = state.starting;
  if (!request) return state;
  if (!state.waiting) return { ...state, starting: null, waiting: request };
  return withOutcome({ ...state, starting: null }, superseded(request, state.waiting));
}

export function outcomeOf(state: QueueState, requestId: string): QueueOutcome | undefined {
  return state.outcomes.find((o) => o.requestId === requestId);
}
