export { deployWorkflow } from './deploy';
export { maintenanceWorkflow } from './maintenance';
export { monitorWorkflow } from './monitor';
export { deployQueueWorkflow } from './queue';
export { releasesWorkflow } from './releases';
export { planReadWorkflow } from './plan';
