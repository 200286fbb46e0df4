export { deployWorkflow } from './deploy';
export { deployQueueWorkflow } from './queue';
