// The example worker's Docker HEALTHCHECK: healthy while the worker holds its lock (worker.js writes the file).
process.exit(require('node:fs').existsSync('/tmp/worker-holds-lock') ? 0 : 1);
