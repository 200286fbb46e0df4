/** Whether a port is free on this host: used by the port checks (host/ports.ts) and by the router (host/nginx.ts). */
import net from 'node:net';

/** True when nothing listens on `host`:port (with "0.0.0.0", on no address of this host). */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
