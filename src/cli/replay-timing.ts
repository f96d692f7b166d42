import type { WsBrokerClient } from '../broker/ws-broker-client.js';
import { BrokerRequestError } from '../egress/venue-guard.js';
import { CliError, EXIT } from './cli-error.js';

/** Connects and logs on, or throws a CliError (BROKER) saying what to check. */
export async function connectOrFail(client: WsBrokerClient, url: string, ms: number): Promise<void> {
  try {
    await within(client.connect(), ms, () => {
      throw new CliError('BROKER', `no logon at ${url} within ${ms} ms: is the broker running there?`, EXIT.BROKER);
    });
  } catch (e) {
    client.close();
    if (e instanceof BrokerRequestError)
      throw new CliError(
        'BROKER',
        `the broker at ${url} refused the logon (${e.message}): check BULWARK_API_KEY and BULWARK_API_SECRET`,
        EXIT.BROKER,
      );
    throw e;
  }
}

/** `p`, or what `onTimeout` returns (or throws) after `ms`, whichever comes first; the timer is always cleared. */
export async function within<T>(p: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (e) {
        reject(e instanceof Error ? e : new CliError('FAILED', String(e), EXIT.FAILURE));
      }
    }, ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `done()` holds (checked on each wake-up `register` arranges) or after `ms`. */
export function waitFor(
  done: () => boolean,
  register: (wake: (() => void) | undefined) => void,
  ms: number,
): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      register(undefined);
      resolve();
    };
    const timer = setTimeout(finish, ms);
    register(() => {
      if (done()) finish();
    });
  });
}
