export { deployWorkflow } from './deploy';
export { maintenanceWorkflow } from './maintenance';
export { deployQueueWorkflow } from './queue';
export { releasesWorkflow } from './releases';
