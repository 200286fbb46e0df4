/**
 * Long-lived clients of the example backend through the router: WebSockets on /api/ws (it greets with
 * its version and color and echoes each message with them) and server-sent event streams on
 * /api/events. Each records what it saw, so a test can say which color served it and how it ended.
 */
import http from 'node:http';
import WebSocket from 'ws';

export interface SocketClient {
  /** The color of the greeting: who accepted the connection. */
  color: string;
  /** Sends a message and resolves with the color that echoed it. */
  echo(text: string): Promise<string>;
  /** Closes from the client side (1000) and resolves when closed. */
  close(): Promise<void>;
  /** How it ended: null while open; the close code (1001 from the app's SIGTERM handler, 1006 when cut). */
  closeCode(): number | null;
  /** Resolves when the connection has closed, whoever closed it. */
  closed: Promise<number>;
}

/** Opens a WebSocket to `url` (ws://127.0.0.1:<router port>/api/ws) and waits for its greeting. */
export function openSocket(url: string): Promise<SocketClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: 5_000 });
    let code: number | null = null;
    const waiting: Array<(color: string) => void> = [];
    const closed = new Promise<number>((done) => ws.once('close', (c: number) => done((code = c))));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`no upgrade: the router answered ${res.statusCode}`)));
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { hello?: boolean; echo?: string; color: string };
      if (message.hello) {
        resolve({
          color: message.color,
          echo: (text) =>
            new Promise((answered, failed) => {
              waiting.push(answered);
              ws.send(text, (err) => err && failed(err));
            }),
          close: async () => {
            ws.close(1000);
            await closed;
          },
          closeCode: () => code,
          closed,
        });
      } else waiting.shift()?.(message.color);
    });
  });
}

export interface EventStream {
  /** The colors of the events received, in order. */
  colors: string[];
  /** True once the app sent its `event: bye` (its SIGTERM handler). */
  bye(): boolean;
  /** How the stream ended: null while open, "end" when the app ended it, or the error that cut it. */
  ending(): string | null;
  close(): void;
  ended: Promise<string>;
}

/** Opens an event stream (`every` ms between events) and resolves at its first event. */
export function openEventStream(url: string, every = 200): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const colors: string[] = [];
    let sawBye = false;
    let ending: string | null = null;
    let settle: (how: string) => void = () => undefined;
    const ended = new Promise<string>((done) => (settle = (how) => done((ending ??= how))));
    const req = http.get(`${url}?every=${every}`, { agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`the event stream answered ${res.statusCode}`));
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (event.startsWith('event: bye')) sawBye = true;
          const data = /^data: (.*)$/m.exec(event)?.[1];
          if (data && !sawBye) colors.push((JSON.parse(data) as { color: string }).color);
          if (colors.length === 1 && !sawBye) resolve(stream);
        }
      });
      res.on('end', () => settle('end'));
      res.on('error', (err) => settle(err.message));
      res.on('aborted', () => settle('aborted'));
    });
    req.on('error', (err) => {
      settle(err.message);
      reject(err);
    });
    const stream: EventStream = { colors, bye: () => sawBye, ending: () => ending, close: () => req.destroy(), ended };
  });
}
