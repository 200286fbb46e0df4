/**
 * The releases of one app (`releases-<app>`): a long-lived workflow that holds the list and answers a
 * query. A running workflow's history is not subject to the namespace's retention, so the list outlives
 * the deploys' histories; it continues as new (carrying the list) every RELEASE_EVENTS_PER_RUN releases
 * or when the server suggests it, so its own history stays small. A deploy's recordRelease activity
 * starts it with its first signal (signalWithStart), so every host of a fleet shares one list.
 */
import { allHandlersFinished, condition, continueAsNew, defineQuery, defineSignal, setHandler, workflowInfo } from '@temporalio/workflow';
import { MESSAGES } from '../src/names';
import { addRelease, type Release, type ReleaseDraft, type ReleaseStoreState } from '../src/releases';

/** Signals one run takes before it continues as new (each is a few KB: the spec rides along). */
export const RELEASE_EVENTS_PER_RUN = 100;

export const recordReleaseSignal = defineSignal<[draft: ReleaseDraft]>(MESSAGES.recordRelease);
export const releasesQuery = defineQuery<Release[]>(MESSAGES.releases);

export async function releasesWorkflow(initial: ReleaseStoreState): Promise<never> {
  let state = initial;
  let received = 0;
  setHandler(recordReleaseSignal, (draft) => {
    state = addRelease(state, draft);
    received++;
  });
  setHandler(releasesQuery, () => state.releases);
  await condition(() => received >= RELEASE_EVENTS_PER_RUN || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  return continueAsNew<typeof releasesWorkflow>(state);
}
