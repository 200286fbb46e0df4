export { deployWorkflow } from './deploy';
