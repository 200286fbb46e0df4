/**
 * Which folder may import which (`npm run lint` runs it): imports point one way, from the entry points
 * down to the host layer and the shared definitions in src/. test/, bench/ and examples/ may import
 * anything. Paths are relative to the repository root.
 */

/**
 * For `dependencyTypesNot`: leaves out what TypeScript erases (`import type`, `typeof import(...)`, an
 * import used only as a type), so a rule with it matches what exists at run time. Judged on the compiled
 * output (tsPreCompilationDeps 'specify'), not on the "type-only" mark: dependency-cruiser also marks
 * `import x, { type T }` type-only, though `x` is a run-time import.
 */
const RUNTIME = ['pre-compilation-only'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'product-without-test-tools',
      severity: 'error',
      comment: 'test/ and harness/ drive the product from outside (load generator, test workers, fixtures): the product never imports them.',
      from: { path: '^(src|host|activities|workflows|worker)/' },
      to: { path: '^(test|harness|bench)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes load order matter and the layers meaningless: move the shared part down a layer.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-stays-below',
      severity: 'error',
      comment: 'src/ (but src/cli/) holds the shared definitions: config, names, types, errors. It must not reach up into the layers built on it.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^(host|activities|worker|workflows|src/cli)/' },
    },
    {
      name: 'host-stays-below-activities',
      severity: 'error',
      comment: 'host/ executes on this machine (Docker, nginx, probes) and knows nothing of Temporal: activities compose it, not the other way round.',
      from: { path: '^host/' },
      to: { path: '^(activities|workflows|worker|src/cli)/' },
    },
    {
      name: 'builders-are-pure',
      severity: 'error',
      comment: 'host/builders/ only return what to do (container options, nginx text): they must not import the executors in host/.',
      from: { path: '^host/builders/' },
      to: { path: '^host/[^/]+$' },
    },
    {
      name: 'activities-below-workflows',
      severity: 'error',
      comment: 'Activities are called by workflows through proxyActivities; they must not import workflow, worker or CLI code.',
      from: { path: '^activities/' },
      to: { path: '^(workflows|worker|src/cli)/' },
    },
    {
      name: 'docker-through-host',
      severity: 'error',
      comment: 'host/docker.ts (DockerHost) makes every Docker call: activities compose it, and may name dockerode types only.',
      from: { path: '^(activities|src)/' },
      to: { path: '(^|/)node_modules/dockerode/', dependencyTypesNot: RUNTIME },
    },
    {
      name: 'activities-independent',
      severity: 'error',
      comment: 'Activity files share code through host/ or activities/support.ts; only activities/index.ts assembles them.',
      from: { path: '^activities/', pathNot: '^activities/index\\.ts$' },
      to: { path: '^activities/', pathNot: '^activities/support\\.ts$' },
    },
    {
      name: 'workflows-deterministic',
      severity: 'error',
      comment: 'Workflow code runs in the deterministic sandbox: it may import only workflows/, the pure definitions in src/ and (type-only) the activity factory.',
      from: { path: '^workflows/' },
      to: {
        dependencyTypesNot: ['npm', 'npm-dev', 'core'],
        pathNot: ['^workflows/', '^src/names\\.ts$', '^src/types\\.ts$', '^src/format\\.ts$', '^src/queue\\.ts$', '^src/deploy-start\\.ts$', '^src/config/schema\\.ts$', '^src/config/hosts\\.ts$', '^src/config/services\\.ts$', '^src/config/windows\\.ts$', '^src/releases\\.ts$', '^src/notify\\.ts$', '^src/monitor\\.ts$', '^activities/index\\.ts$'],
      },
    },
    {
      name: 'workflows-activity-types-only',
      severity: 'error',
      comment: 'Workflows call activities through proxyActivities: `import type` the factory, never its code (it would pull Docker and axios into the sandbox).',
      from: { path: '^workflows/' },
      to: { path: '^(activities/|src/config/schema\\.ts$)', dependencyTypesNot: RUNTIME },
    },
    {
      name: 'cli-without-host',
      severity: 'error',
      comment: 'The CLI talks to Temporal only; the host is driven by the worker. Only the `worker` command loads worker/main.ts, only `doctor` worker/doctor.ts and only `status` worker/traffic.ts (this host\'s router counters; lazily, with import()).',
      from: { path: '^src/cli/' },
      to: { path: '^(host|activities|worker)/', pathNot: ['^worker/(main|doctor|traffic|plan-host|prune-host|logs-host)\\.ts$', '^host/builders/(plan|kept-logs)\\.ts$'] },
    },
    {
      name: 'cli-loads-worker-lazily',
      severity: 'error',
      comment: 'worker/main.ts and worker/doctor.ts load Docker and nginx code: the CLI imports them with import() inside the `worker` and `doctor` commands, not at start-up.',
      from: { path: '^src/cli/' },
      to: { path: '^worker/(main|doctor|traffic|plan-host|prune-host|logs-host)\\.ts$', dependencyTypes: ['import', 'export', 'import-equals'], dependencyTypesNot: RUNTIME },
    },
    {
      name: 'cli-starts-light',
      severity: 'error',
      comment:
        "`greenlight --help`, `--version` and usage errors must answer at once (README: \"A CLI that answers at once\"): cli.ts and main.ts import commander, the exit codes and the settings only; each command loads the Temporal client, zod, the YAML parser and its own modules with import() when it runs. What they import may not pull those in either (src/names.ts spells out its search attribute keys for this): test/unit/launcher.test.ts checks the modules `--help` loads.",
      from: { path: '^src/cli/(cli|main)\\.ts$' },
      to: {
        path: ['(^|/)node_modules/(@temporalio/|dockerode/|zod/|yaml/)', '^src/cli/(commands/|deploy-client\\.ts$|codec-server\\.ts$)', '^src/(temporal|codec)\\.ts$', '^src/config/(load|schema)\\.ts$'],
        dependencyTypes: ['import', 'export', 'import-equals'],
        dependencyTypesNot: RUNTIME,
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(\\.greenlight|\\.tools|test-results|bin|dist)/' },
    // Keep type-only imports in the graph, marked "pre-compilation-only", so the rules can tell them apart.
    tsPreCompilationDeps: 'specify',
    tsConfig: { fileName: 'tsconfig.json' },
    // As Node resolves this CommonJS project's packages (a "types" condition would resolve to .d.ts files).
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
