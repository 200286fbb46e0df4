/**
 * The structure probe that decides whether a route switch needs an nginx reload (NginxRouter's
 * servedStructure), against a tiny HTTP server on 127.0.0.1 standing in for nginx on the app's port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NginxRouter } from '../../host/nginx';
import { webSpec } from '../../harness/specs';

const router = new NginxRouter({ prefix: '/nonexistent/greenlight-test-nginx' });
const servers: http.Server[] = [];

/** A server on a random loopback port; `answer` sees every request's path. */
async function listen(answer: (path: string) => { status: number; body: string }): Promise<{ port: number; paths: string[] }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    const { status, body } = answer(req.url ?? '');
    res.writeHead(status, { 'Content-Type': 'text/plain' }).end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, paths };
}

/** A loopback port nothing listens on (a server that was just closed). */
async function deadPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  return port;
}

const specOn = (port: number) => webSpec('shop', { image: 'shop-web:v1', port: 3000, hostPorts: { blue: 5001, green: 5002 } }, { router: { port } });

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('NginxRouter.servedStructure', () => {
  it.each([
    { name: '200: the hash nginx serves, without its newline', status: 200, body: '3f2a9c1d00e4b7aa\n', served: '3f2a9c1d00e4b7aa' },
    { name: '404: an nginx without the app (its default server)', status: 404, body: '<html>404 Not Found</html>', served: null },
  ])('$name', async ({ status, body, served }) => {
    const nginx = await listen(() => ({ status, body }));
    expect(await router.servedStructure(specOn(nginx.port))).toBe(served);
    expect(nginx.paths).toEqual(['/.greenlight/structure']);
  });

  it('nothing listening on the app port: null', async () => {
    expect(await router.servedStructure(specOn(await deadPort()))).toBeNull();
  });
});
