/**
 * How a deploy workflow is started: its id (the app's lock), input, time limit, summary and search
 * attributes. Pure (workflow code imports it): the CLI starts a deploy with these options, and the
 * deploy queue (workflows/queue.ts) starts the very same deploy as a child with them.
 */
import { nextAllowed } from './config/windows';
import { deployWorkflowId, SEARCH_ATTRIBUTES } from './names';
import { imageEntries, serviceImages } from './format';
import type { DeployInput } from './types';

/** The server-side backstop beyond the workflow's own time limit (which rolls back cleanly). */
export const EXECUTION_TIMEOUT_MARGIN_MS = 10 * 60_000;

/** How long a deploy of `input` started at `nowMs` may wait for its deploy window (0: none, overridden, or open). */
export function windowWaitMs(input: DeployInput, nowMs: number): number {
  const windows = input.spec.windows;
  if (!windows || input.window?.override) return 0;
  const opens = nextAllowed(windows, nowMs);
  return opens === null ? 0 : Math.max(0, opens - nowMs);
}

/** `waitMs`: how long the deploy may wait for its window before its own time limit starts. */
export function deployStartOptions(input: DeployInput, waitMs = 0) {
  const { spec, restore, requestedBy, searchAttributes, window, changes } = input;
  const images = imageEntries(serviceImages(spec.services));
  const verb = restore ? 'Restore' : 'Deploy';
  return {
    workflowId: deployWorkflowId(spec.app),
    args: [input] as [DeployInput],
    workflowExecutionTimeout: spec.timeout + waitMs + EXECUTION_TIMEOUT_MARGIN_MS,
    staticSummary: `${verb} ${spec.app}: ${images.join(', ')}`,
    staticDetails: [
      `${verb === 'Restore' ? 'Restore of the previous version' : 'Blue/green deploy'} of **${spec.app}** on router port ${spec.router.port}${spec.router.tls ? ' (HTTPS)' : ''}.`,
      `Images: ${images.join(', ')}`,
      ...(restore ? [`Reason: ${restore.reason}`] : []),
      ...(requestedBy ? [`Requested by: ${requestedBy}`] : []),
      ...(window?.override ? [`Deploy window overridden by ${window.override.by}: ${window.override.reason}`] : []),
      ...(changes?.length ? [['Changes (names only, never values):', ...changes.map((line) => `- ${line}`)].join('\n')] : []),
    ].join('\n\n'),
    typedSearchAttributes: searchAttributes
      ? [
          { key: SEARCH_ATTRIBUTES.app, value: spec.app },
          { key: SEARCH_ATTRIBUTES.images, value: images },
          { key: SEARCH_ATTRIBUTES.phase, value: 'validate' },
          { key: SEARCH_ATTRIBUTES.outcome, value: 'running' },
          ...(spec.hosts ? [{ key: SEARCH_ATTRIBUTES.hosts, value: spec.hosts.map((host) => host.name) }] : []),
        ]
      : undefined,
  };
}
