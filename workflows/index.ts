export { deployWorkflow } from './deploy';
export { releasesWorkflow } from './releases';
