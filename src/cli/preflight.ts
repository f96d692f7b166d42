import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { CliError, EXIT } from './cli-error.js';

/** What Node's fs and net errors carry. */
const codeOf = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;

/** `path` is a readable file, or a NO_INPUT error (exit 3) saying what is wrong with it. */
export async function checkInputFile(path: string, what: string): Promise<void> {
  try {
    if ((await stat(path)).isDirectory())
      throw new CliError('NO_INPUT', `${what} ${path} is a directory: give a file`, EXIT.NO_INPUT);
    await access(path, constants.R_OK);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError('NO_INPUT', `cannot read ${what} ${path}: check the path and its permissions`, EXIT.NO_INPUT);
  }
}

/**
 * Makes sure a file can be written at `path` before any work starts: creates its folder,
 * refuses a directory or an unwritable file or folder with NO_OUTPUT (exit 7).
 */
export async function prepareOutputFile(path: string, what: string): Promise<void> {
  const folder = dirname(path);
  try {
    await mkdir(folder, { recursive: true });
    const existing = await stat(path).catch((e: unknown) => {
      if (codeOf(e) === 'ENOENT') return undefined;
      throw e;
    });
    if (existing?.isDirectory() === true)
      throw new CliError('NO_OUTPUT', `${what} ${path} is a directory: give a file name`, EXIT.NO_OUTPUT);
    await access(existing === undefined ? folder : path, constants.W_OK);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(
      'NO_OUTPUT',
      `cannot write ${what} ${path} (${codeOf(e) ?? String(e)}): choose another path`,
      EXIT.NO_OUTPUT,
    );
  }
}

/** Creates the folder `path` (if missing) and checks it is writable, or NO_OUTPUT (exit 7). */
export async function prepareOutputDir(path: string, what: string): Promise<void> {
  const refuse = (why: string) =>
    new CliError('NO_OUTPUT', `cannot write ${what} ${path} (${why}): choose another folder`, EXIT.NO_OUTPUT);
  try {
    await mkdir(path, { recursive: true });
  } catch (e) {
    throw refuse(codeOf(e) ?? String(e));
  }
  if (!(await stat(path)).isDirectory()) throw refuse('not a folder');
  await access(path, constants.W_OK).catch((e: unknown) => {
    throw refuse(codeOf(e) ?? String(e));
  });
}

/**
 * Opens a TCP connection to the broker at `url` and closes it: a refused connection or an
 * unknown host fails at once with BROKER (exit 4) instead of waiting for the logon timeout.
 * Anything slower than `ms` is left to the logon's own timeout.
 */
export function probeBroker(url: string, ms = 2_000): Promise<void> {
  const u = new URL(url);
  const port = Number(u.port === '' ? (u.protocol === 'wss:' || u.protocol === 'https:' ? 443 : 80) : u.port);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      socket.destroy();
      const code = codeOf(e) ?? 'ERROR';
      reject(
        new CliError(
          'BROKER',
          `cannot connect to the broker at ${url} (${code}${code === 'ECONNREFUSED' ? ': connection refused' : ''}): is it running there?`,
          EXIT.BROKER,
        ),
      );
    });
  });
}

/**
 * The CLI's error for a server that could not listen: PORT_UNAVAILABLE (exit 8) for a port in
 * use or not permitted, FAILED for anything else.
 */
export function listenFailure(e: unknown, port: number, host: string, flag: string): CliError {
  const code = codeOf(e);
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
    return new CliError(
      'PORT_UNAVAILABLE',
      `port ${port} on ${host} is ${code === 'EADDRINUSE' ? 'in use' : 'not permitted'} (${code}): choose another with ${flag}`,
      EXIT.PORT_UNAVAILABLE,
    );
  return new CliError(
    'FAILED',
    `cannot listen on ${host}:${port}: ${e instanceof Error ? e.message : String(e)}`,
    EXIT.FAILURE,
  );
}
