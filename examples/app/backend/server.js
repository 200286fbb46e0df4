// The example backend: plain Node.js (no dependencies), so it runs on the registry-free base image.
// GL_BEHAVIOR (baked in at build time) lets the tests ship broken versions on purpose:
//   ok         - healthy
//   unhealthy  - every health endpoint answers 503
//   flaky      - health passes, but a share of API requests answer 500 (FLAKY_RATE, default 0.5)
//   slow       - health passes, API requests take SLOW_MS (default 400) longer
//   hang       - health endpoints accept the connection and never answer
'use strict';
const http = require('node:http');

const port = Number(process.env.PORT || 4000);
const version = process.env.APP_VERSION || 'dev';
const color = process.env.GREENLIGHT_COLOR || 'none';
const behavior = process.env.GL_BEHAVIOR || 'ok';
const flakyRate = Number(process.env.FLAKY_RATE || 0.5);
const slowMs = Number(process.env.SLOW_MS || 400);
const startedAt = new Date().toISOString();
let requests = 0;

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  requests += 1;
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname.startsWith('/api/health')) {
    if (behavior === 'unhealthy') return send(res, 503, { status: 'unhealthy', version, color });
    if (behavior === 'hang') return undefined;
    return send(res, 200, { status: 'ok', version, color, startedAt, requests, check: url.pathname });
  }
  const answer = () => {
    if (behavior === 'flaky' && Math.random() < flakyRate) return send(res, 500, { error: 'flaky on purpose', version, color });
    if (url.pathname === '/api/version') return send(res, 200, { version, color });
    if (url.pathname.startsWith('/api/')) return send(res, 200, { version, color, path: url.pathname, items: [1, 2, 3] });
    return send(res, 404, { error: 'not found' });
  };
  if (behavior === 'slow') setTimeout(answer, slowMs);
  else answer();
});

server.keepAliveTimeout = 70_000; // longer than nginx's upstream keepalive, so nginx closes first
server.listen(port, () => console.log(`backend ${version} (${color}, ${behavior}) on :${port}`));
// Graceful stop: finish in-flight requests, then exit.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
