// The example frontend: serves its page and a health endpoint from its own container.
'use strict';
const http = require('node:http');
const fs = require('node:fs');

const port = Number(process.env.PORT || 3000);
const version = process.env.APP_VERSION || 'dev';
const color = process.env.GREENLIGHT_COLOR || 'none';
const page = fs.readFileSync(`${__dirname}/index.html`, 'utf8').replaceAll('{{version}}', version).replaceAll('{{color}}', color);

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ status: 'ok', version, color }));
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-app-version': version });
  res.end(page);
});
server.keepAliveTimeout = 70_000;
server.listen(port, () => console.log(`frontend ${version} (${color}) on :${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
