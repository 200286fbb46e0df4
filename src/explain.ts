/**
 * `greenlight explain`: why a deploy ended as it did, decoded from what the workflow recorded (its
 * result or failure details, and who sent a rollback) and nothing else. Pure: the command reads
 * Temporal, this module only decodes and words it. The decision text is the workflow's own
 * (status.rollbackReason, the same line the Temporal UI's current details show after `rollback:`), or
 * for a deploy its monitor rolled back during the bake, the monitor's (the line its details show).
 */
import type { DeployStatus, VerifyReport } from './types';
import { formatMs } from './format';

/** A rollback an operator asked for, as the history recorded it (the update or the signal). */
export interface OperatorRequest {
  via: 'update' | 'signal';
  /** The client identity Temporal recorded (`pid@host`, `temporal-cli:user@host`). */
  identity: string | null;
  at: string | null;
}

export interface ExplainInput {
  app: string;
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, TIMED_OUT. */
  workflowStatus: string;
  status: DeployStatus | null;
  /** The workflow's failure message, when it failed. */
  failureMessage: string | null;
  operator: OperatorRequest | null;
  /** The bake's automatic rollback of this deploy, as its monitor (monitor-<app>) recorded it, if it rolled back. */
  bakeRollback?: BakeRollback | null;
}

/** A monitor's rollback during the bake of the deploy it watched (MonitorStatus.rollback). */
export interface BakeRollback {
  at: string;
  from: string;
  to: string;
  reason: string;
  /** The images serving since (the previous color's), when the reader has them. */
  images?: Record<string, string>;
}

export type Verdict = 'running' | 'succeeded' | 'bake-rollback' | 'rolled-back' | 'operator-rollback' | 'validation-failed' | 'compensation-failed' | 'cancelled' | 'unknown';

/** One endpoint that failed, from the rule's message (`backend: GET http://… -> HTTP 500`). */
export interface FailingEndpoint {
  service: string;
  request: string;
  result: string;
}

export interface Explanation {
  app: string;
  runId: string;
  verdict: Verdict;
  phase: string | null;
  /** The spec setting whose threshold decided (`verify.maxErrorRate`, `health.deadline`), if the message names one. */
  rule: string | null;
  /** The decision in the workflow's words. */
  decision: string;
  failingEndpoints: FailingEndpoint[];
  verify: VerifyReport | null;
  operator: OperatorRequest | null;
  lastError: string | null;
  /** With verdict bake-rollback: when, and from which color to which, the monitor switched back. */
  bakeRollback: Omit<BakeRollback, 'reason' | 'images'> | null;
}

const RULE = /\b((?:verify|health)\.[A-Za-z]+)\b/;
const ENDPOINT = /([a-z0-9-]+): ([A-Z]+ \S+) -> ([^;\n]+)/g;

/** The spec setting a verify or health message names, e.g. `verify.maxErrorRate`. */
export function ruleOf(message: string): string | null {
  return RULE.exec(message)?.[1] ?? null;
}

export function failingEndpointsOf(message: string): FailingEndpoint[] {
  return [...message.matchAll(ENDPOINT)].map(([, service, request, result]) => ({ service: service!, request: request!, result: result!.trim() }));
}

/** The first line only: a health failure appends the containers' redacted log lines, which explain does not repeat. */
function firstLine(text: string): string {
  return text.split('\n')[0]!;
}

function verdictOf(input: ExplainInput): Verdict {
  const { status, workflowStatus } = input;
  if (workflowStatus === 'RUNNING') return 'running';
  if (status?.outcome === 'succeeded') return input.bakeRollback ? 'bake-rollback' : 'succeeded';
  if (status?.outcome === 'compensation-failed') return 'compensation-failed';
  if (status?.outcome === 'validation-failed') return 'validation-failed';
  if (status?.outcome === 'rolled-back') {
    // A failed step records its failure type; a rollback asked for (update or signal) records none. A time
    // limit asks too, but leaves no update or signal in the history.
    if (input.operator && status.failureType === null && workflowStatus !== 'CANCELED') return 'operator-rollback';
    return workflowStatus === 'CANCELED' ? 'cancelled' : 'rolled-back';
  }
  return 'unknown';
}

/** The phase whose step decided: the last before compensation and done. */
function decidingPhase(status: DeployStatus | null): string | null {
  const phases = (status?.phases ?? []).map((p) => p.phase).filter((p) => p !== 'compensation' && p !== 'done');
  return phases.at(-1) ?? status?.phase ?? null;
}

export function explainDeploy(input: ExplainInput): Explanation {
  const { status } = input;
  const verdict = verdictOf(input);
  const reason = verdict === 'bake-rollback' ? input.bakeRollback!.reason : (status?.rollbackReason ?? status?.lastError ?? input.failureMessage ?? '');
  const decisionText = verdict === 'succeeded' ? 'all verify rules held' : verdict === 'running' ? `still running, phase ${status?.phase ?? 'unknown'}${status?.waitingFor ? ` (waiting for ${status.waitingFor})` : ''}` : firstLine(reason) || `the workflow ended ${input.workflowStatus.toLowerCase()} without a recorded reason`;
  const decidedByRule = verdict === 'rolled-back' || verdict === 'validation-failed' || verdict === 'compensation-failed' || verdict === 'bake-rollback';
  const bake = verdict === 'bake-rollback' ? input.bakeRollback! : null;
  return {
    app: input.app,
    runId: input.runId,
    verdict,
    phase: verdict === 'running' ? (status?.phase ?? null) : bake ? 'bake' : decidingPhase(status),
    // A bake rollback's rule is the monitor's: alertAfter failed rounds in a row.
    rule: bake ? 'monitor.alertAfter' : decidedByRule ? ruleOf(reason) : null,
    decision: decisionText,
    failingEndpoints: decidedByRule ? failingEndpointsOf(firstLine(reason)) : [],
    verify: status?.verify ?? null,
    operator: verdict === 'operator-rollback' ? input.operator : null,
    lastError: verdict === 'compensation-failed' ? (status?.lastError ?? input.failureMessage) : null,
    bakeRollback: bake ? { at: bake.at, from: bake.from, to: bake.to } : null,
  };
}

const pct = (rate: number) => `${(rate * 100).toFixed(1)} %`;

/** The verify figures a deploy passed (or had reached) with. */
export function formatVerify(v: VerifyReport): string[] {
  const lines = [`verify of ${v.color} over ${formatMs(v.durationMs)}: error rate ${pct(v.errorRate)} (${v.errors} of ${v.samples} probes), median latency ${v.p50Ms.toFixed(0)} ms vs ${v.baselineP50Ms === null ? 'no' : `${v.baselineP50Ms.toFixed(0)} ms`} baseline`];
  const r = v.realTraffic;
  if (r) {
    const q = (ms: number | null) => (ms === null ? '-' : `≤ ${ms} ms`);
    lines.push(`real traffic: ${r.requests} requests, ${r.errors5xx} 5xx (${pct(r.errorRate)})${r.upstreamErrors ? `, ${r.upstreamErrors} upstream errors` : ''}, p50 ${q(r.p50Ms)} p95 ${q(r.p95Ms)} vs previous color ${r.baselineRequests} requests p50 ${q(r.baselineP50Ms)} p95 ${q(r.baselineP95Ms)}`);
  }
  return lines;
}

/** The explanation as lines for a terminal. */
export function formatExplanation(e: Explanation): string[] {
  const head = `${e.app} (run ${e.runId})`;
  const lines: string[] = [];
  switch (e.verdict) {
    case 'running':
      lines.push(`${head}: ${e.decision}`);
      break;
    case 'succeeded':
      lines.push(`${head}: succeeded, ${e.decision}`);
      break;
    case 'bake-rollback': {
      const b = e.bakeRollback!;
      lines.push(`${head}: succeeded, then rolled back by its monitor during the bake at ${b.at}: ${b.from} -> ${b.to}`, `  decision: ${e.decision}`);
      break;
    }
    case 'operator-rollback': {
      const who = e.operator ? ` by ${e.operator.identity ?? 'an unknown client'} (${e.operator.via === 'update' ? 'greenlight rollback' : 'rollback signal'}${e.operator.at ? ` at ${e.operator.at}` : ''})` : ' by an operator';
      lines.push(`${head}: rolled back${who} during ${e.phase ?? 'the deploy'}`, `  reason: ${e.decision}`);
      break;
    }
    case 'compensation-failed':
      lines.push(`${head}: rolled back in ${e.phase ?? 'the deploy'}, but compensation failed: an operator must look`, `  decision: ${e.decision}`);
      if (e.lastError && firstLine(e.lastError) !== e.decision) {
        // The workflow's message repeats the decision at its end (`(after: <reason>)`): said once above.
        lines.push(`  compensation: ${firstLine(e.lastError).replace(/^compensation did not finish: /, '').replace(` (after: ${e.decision})`, '')}`);
      }
      break;
    case 'unknown':
      lines.push(`${head}: ${e.decision}`);
      break;
    default:
      lines.push(`${head}: ${e.verdict === 'validation-failed' ? 'validation failed, nothing was changed' : e.verdict === 'cancelled' ? 'cancelled and rolled back' : `rolled back in ${e.phase ?? 'the deploy'}`}`, `  decision: ${e.decision}`);
  }
  if (e.rule) lines.push(`  rule: ${e.rule}`);
  for (const ep of e.failingEndpoints) lines.push(`  failing: ${ep.service} ${ep.request} -> ${ep.result}`);
  if (e.verify) lines.push(...formatVerify(e.verify).map((l) => `  ${l}`));
  return lines;
}

