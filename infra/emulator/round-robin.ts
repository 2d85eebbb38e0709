import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small round-robin HTTP balancer in front of several processes of one function, as Cloud Run
 * spreads pushes over a service's instances: each request goes whole to the next target (method,
 * path, headers and body), and its answer comes back as it is. A target that cannot be reached
 * is answered 502, which Pub/Sub treats as a failed push (as Cloud Run's front end would).
 */

export interface RoundRobin {
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  /** Requests sent to each target so far, in target order. */
  counts(): number[];
  close(): Promise<void>;
}

export async function startRoundRobin(targets: readonly string[]): Promise<RoundRobin> {
  if (targets.length === 0) throw new Error('round-robin: no targets');
  const counts = targets.map(() => 0);
  let next = 0;
  const server = createServer((req, res) => {
    const index = next;
    next = (next + 1) % targets.length;
    counts[index] = (counts[index] ?? 0) + 1;
    const target = new URL(req.url ?? '/', targets[index]);
    const forward = request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`round-robin: ${target.host}: ${error.message}`);
    });
    req.pipe(forward);
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => [...counts],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}
