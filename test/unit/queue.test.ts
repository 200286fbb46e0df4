import { describe, expect, it } from 'vitest';
import { acceptRequest, beginStart, EMPTY_QUEUE, OUTCOMES_KEPT, outcomeOf, started, stillRunning, type QueueRequest } from '../../src/queue';
import type { DeployInput } from '../../src/types';

const input = { spec: { app: 'q-unit' } } as unknown as DeployInput;
const request = (id: string): QueueRequest => ({ requestId: id, requestedBy: `ci-${id}`, requestedAt: `2026-12-03T12:00:0${id.length}Z`, input });
const a = request('a');
const b = request('bb');
const c = request('ccc');

describe('deploy queue state', () => {
  it('keeps the latest request waiting; the one it replaced learns by whom', () => {
    const state = acceptRequest(acceptRequest(EMPTY_QUEUE, a), b);
    expect(state).toEqual({
      waiting: b,
      starting: null,
      outcomes: [{ requestId: 'a', requestedBy: 'ci-a', result: 'superseded', by: { requestId: 'bb', requestedBy: 'ci-bb', requestedAt: b.requestedAt } }],
    });
  });

  it('ignores a request it already knows (a signal sent twice)', () => {
    const once = acceptRequest(EMPTY_QUEUE, a);
    expect(acceptRequest(once, a)).toEqual(once);
    const done = started(beginStart(once), 'deploy-q-unit', 'run-1', 't');
    expect(acceptRequest(done, a)).toEqual(done);
  });

  it('records the started deploy of the starting request', () => {
    const state = started(beginStart(acceptRequest(EMPTY_QUEUE, a)), 'deploy-q-unit', 'run-1', '2026-12-03T12:00:05Z');
    expect(state).toEqual({ waiting: null, starting: null, outcomes: [{ requestId: 'a', requestedBy: 'ci-a', result: 'started', deployId: 'deploy-q-unit', runId: 'run-1', startedAt: '2026-12-03T12:00:05Z' }] });
    expect(outcomeOf(state, 'a')).toEqual(state.outcomes[0]);
  });

  it('a request arriving while another is being started waits behind it, not instead of it', () => {
    const starting = beginStart(acceptRequest(EMPTY_QUEUE, a));
    const state = started(acceptRequest(starting, b), 'deploy-q-unit', 'run-1', 't');
    expect(state.waiting).toEqual(b);
    expect(state.outcomes.map((o) => [o.requestId, o.result])).toEqual([['a', 'started']]);
  });

  it('a start refused because a deploy runs: the request waits again, or is superseded by one that came meanwhile', () => {
    const starting = beginStart(acceptRequest(EMPTY_QUEUE, a));
    expect(stillRunning(starting)).toEqual({ waiting: a, starting: null, outcomes: [] });
    const state = stillRunning(acceptRequest(starting, c));
    expect(state.waiting).toEqual(c);
    expect(state.outcomes).toEqual([{ requestId: 'a', requestedBy: 'ci-a', result: 'superseded', by: { requestId: 'ccc', requestedBy: 'ci-ccc', requestedAt: c.requestedAt } }]);
  });

  it(`keeps the last ${OUTCOMES_KEPT} outcomes`, () => {
    let state = EMPTY_QUEUE;
    for (let i = 0; i < OUTCOMES_KEPT + 5; i++) state = acceptRequest(state, request(`r${i}`));
    expect(state.outcomes).toHaveLength(OUTCOMES_KEPT);
    expect(state.outcomes[0]!.requestId).toBe('r4');
  });
});
