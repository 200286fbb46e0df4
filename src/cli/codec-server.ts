/**
 * A Temporal codec server (https://docs.temporal.io/production-deployment/data-encryption): POST /decode
 * and /encode take `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }` and answer the same shape,
 * run through greenlight's payload codec (src/codec.ts). The Temporal UI (its codec endpoint setting, or
 * the server's --ui-codec-endpoint) and `temporal workflow show --codec-endpoint` call it, so whoever can
 * reach it reads decoded payloads: it listens on loopback by default, answers CORS only for the UI
 * origins it is given, and with a token requires `Authorization: Bearer <token>`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Browser origins allowed to call it (the Temporal UI's, e.g. http://127.0.0.1:8233). */
  allowedOrigins: string[];
  /** When set, every /encode and /decode needs `Authorization: Bearer <token>`. */
  token?: string;
}

interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

const MAX_BODY_BYTES = 8 * 2 ** 20;

function fromJson({ metadata, data }: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(data ?? '', 'base64'),
  };
}

function toJson({ metadata, data }: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
  };
}

function corsHeaders(request: IncomingMessage, allowedOrigins: string[]): Record<string, string> {
  const origin = request.headers.origin;
  if (!origin || !allowedOrigins.includes(origin)) return {};
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': 'POST, OPTIONS',
    'Access-Control-Allow-Headers': 'Content-Type, X-Namespace, Authorization, Authorization-Extras',
    'Access-Control-Allow-Credentials': 'true',
    Vary: 'Origin',
  };
}

function authorized(request: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const given = Buffer.from(request.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error(`body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  response.writeHead(status, { ...headers, 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/** The request handler: CORS preflight, auth, then the codec over the posted payloads. */
export function codecRequestHandler(options: CodecServerOptions): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const cors = corsHeaders(request, options.allowedOrigins);
    if (request.method === 'OPTIONS') return void response.writeHead(204, cors).end();
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'POST' || (path !== '/encode' && path !== '/decode')) return send(response, 404, cors, { error: 'POST /encode or /decode' });
    if (!authorized(request, options.token)) return send(response, 401, cors, { error: 'a bearer token is required (Authorization: Bearer <token>)' });
    readBody(request)
      .then(async (body) => {
        const { payloads } = JSON.parse(body) as { payloads?: JsonPayload[] };
        if (!Array.isArray(payloads)) return send(response, 400, cors, { error: 'expected {"payloads": [...]}' });
        const decoded = payloads.map(fromJson);
        const result = path === '/encode' ? await options.codec.encode(decoded) : await options.codec.decode(decoded);
        send(response, 200, cors, { payloads: result.map(toJson) });
      })
      .catch((err: Error) => send(response, 400, cors, { error: err.message }));
  };
}

/** Starts the codec server on host:port (port 0: any free one) and resolves once it listens. */
export async function startCodecServer(options: CodecServerOptions, host: string, port: number): Promise<Server> {
  const server = createServer(codecRequestHandler(options));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
