import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import { BulwarkError } from '../errors.js';

/** A running `/metrics` endpoint. */
export interface MetricsServer {
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `registry` in the Prometheus text format at `GET /metrics` (404 elsewhere), on
 * loopback unless `host` says otherwise. Port 0 picks a free one.
 *
 * @example
 * ```ts
 * const server = await serveMetrics(metrics.registry, 9464);
 * console.log(server.url); // http://127.0.0.1:9464/metrics
 * ```
 */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: unknown) =>
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`metrics failed: ${e instanceof Error ? e.message : String(e)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
  const a = server.address();
  if (a === null || typeof a === 'string') {
    // Only a pipe or a closed server has no TCP address: neither can happen after listen(port, host).
    server.close();
    throw new BulwarkError('INVALID_STATE', `metrics server has no TCP address (${String(a)})`);
  }
  return {
    url: `http://${a.address}:${a.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
