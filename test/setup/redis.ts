/**
 * Starts a throw-away `redis-server` for one test file: on a free local port, no persistence,
 * killed when the file's tests end (or when the worker exits). The binary comes from
 * `scripts/ensure-redis.sh`, which installs Redis with apt-get when missing and running as
 * root. Without a binary, `startRedis()` answers undefined and the file's Redis tests are
 * skipped (`describe.skipIf(!redis)`) — unless `BULWARK_REQUIRE_REDIS=1` (CI), when it throws.
 *
 * ```ts
 * const redis = await startRedis();
 * afterAll(() => redis?.stop());
 * describe.skipIf(!redis)('fenced lock', () => { ... redis!.url ... });
 * ```
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const ENSURE_SCRIPT = fileURLToPath(new URL('../../scripts/ensure-redis.sh', import.meta.url));

/** A running redis-server. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The server process id. */
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing (commands time out). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
}

let binary: string | null | undefined;

/** Whether Redis tests must run (CI): a missing redis-server is then an error, not a skip. */
export function redisRequired(): boolean {
  return process.env['BULWARK_REQUIRE_REDIS'] === '1';
}

/** Path of a redis-server binary (installing it if `ensure-redis.sh` can), or undefined. */
export function findRedisServer(): string | undefined {
  if (binary !== undefined) return binary ?? undefined;
  try {
    const out = execFileSync('bash', [ENSURE_SCRIPT], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
    const path = out.trim().split('\n').pop();
    binary = path !== undefined && path.length > 0 ? path : null;
  } catch (e) {
    const stderr = (e as { stderr?: unknown }).stderr;
    if (redisRequired()) {
      throw new Error(
        `BULWARK_REQUIRE_REDIS=1 but no redis-server is available:\n${typeof stderr === 'string' ? stderr : String(e)}`,
        { cause: e },
      );
    }
    binary = null;
  }
  return binary ?? undefined;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends PING on a fresh connection: true on +PONG. */
function ping(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts redis-server on `port` (default: a free one) and resolves once it answers PING.
 * Undefined when there is no redis-server (and Redis is not required).
 */
export async function startRedis(options: { port?: number } = {}): Promise<RedisServer | undefined> {
  const bin = findRedisServer();
  if (bin === undefined) return undefined;
  const port = options.port ?? (await freePort());
  const child = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    running.delete(child);
  });

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (hasExited) throw new Error(`redis-server exited at start on port ${String(port)}:\n${output}`);
    if (await ping(port, 500)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer PING on port ${String(port)} within 10 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }

  let paused = false;
  return {
    url: `redis://127.0.0.1:${String(port)}`,
    port,
    pid: child.pid ?? -1,
    pause() {
      paused = true;
      child.kill('SIGSTOP');
    },
    resume() {
      paused = false;
      child.kill('SIGCONT');
    },
    async stop() {
      if (hasExited) return;
      if (paused) child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
