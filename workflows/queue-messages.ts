/** The deploy queue's messages (workflows/queue.ts): the CLI and tests use these definitions. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { MESSAGES } from '../src/names';
import type { QueueRequest, QueueState } from '../src/queue';

export const enqueueSignal = defineSignal<[QueueRequest]>(MESSAGES.enqueue);
export const queueQuery = defineQuery<QueueState>(MESSAGES.queue);
