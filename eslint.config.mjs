// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Every Node built-in by its bare name ("fs", "fs/promises", ...); "node:*" is matched by a pattern. */
const nodeBuiltins = builtinModules.filter((name) => !name.startsWith('_'));

const WORKFLOW_SANDBOX = 'workflow code runs in the deterministic Temporal sandbox: do I/O in an activity and call it through proxyActivities';

export default defineConfig(
  {
    // Generated state, downloaded tools, the plain-JS launcher and the compiled output (npm run build).
    ignores: ['node_modules/', '.greenlight/', '.tools/', 'bin/', 'test-results/', 'dist/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The two type-aware rules that catch real bugs in async Temporal/Docker code; cheap enough.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // tsc already reports unused locals and parameters (noUnusedLocals/noUnusedParameters).
      '@typescript-eslint/no-unused-vars': 'off',
    },
  },
  {
    // The example apps and the launcher are plain CommonJS Node scripts.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: {
      '@typescript-eslint/no-require-imports': 'off', // CommonJS: require() is the only import there is.
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    // The host layer and the activities read as named steps a reader can jump to, not one long body.
    files: ['activities/**/*.ts', 'host/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off', // replaced by the TypeScript version, which understands `import type`
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: `Node built-in "${name}": ${WORKFLOW_SANDBOX}.` })),
            { name: 'dockerode', message: `Docker is driven from activities only: ${WORKFLOW_SANDBOX}.` },
            { name: 'axios', message: `HTTP is done in activities only: ${WORKFLOW_SANDBOX}.` },
            { name: '@temporalio/activity', message: 'activity APIs are not available in workflow code: use @temporalio/workflow.' },
            { name: '@temporalio/worker', message: 'the worker package is not deterministic: use @temporalio/workflow.' },
            { name: '@temporalio/client', message: 'the client cannot be used in workflow code: use @temporalio/workflow (e.g. child workflows, signals).' },
          ],
          patterns: [
            { group: ['node:*'], message: `Node built-ins: ${WORKFLOW_SANDBOX}.` },
            { group: ['dockerode/*', 'axios/*', '@temporalio/activity/*', '@temporalio/worker/*', '@temporalio/client/*'], message: WORKFLOW_SANDBOX },
            {
              group: ['../activities', '../activities/*', '**/activities', '**/activities/*'],
              allowTypeImports: true,
              message: 'workflows may import activity *types* only (`import type`): call activities through proxyActivities.',
            },
          ],
        },
      ],
    },
  },
);
