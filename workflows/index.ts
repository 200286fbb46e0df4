export { deployWorkflow } from './deploy';
export { maintenanceWorkflow } from './maintenance';
