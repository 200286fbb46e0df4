import { resolve } from 'node:path';

export const REPO = resolve(__dirname, '..');
export const GL_HOME = process.env.GREENLIGHT_HOME ?? resolve(REPO, '.greenlight');
export const BUNDLE_PATH = resolve(GL_HOME, 'test', 'workflow-bundle.js');
export const TEMPORAL_BIN = resolve(REPO, '.tools', 'temporal');
export const TEMPORAL_ADDRESS = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
