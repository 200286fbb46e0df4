/**
 * Waiting in tests, on vitest's own poller. Inside a test, a wait that is an expectation reads best as
 * `await expect.poll(probe, { timeout, interval, message }).toBe(wanted)`; `waitFor` is for a wait
 * that yields a value or runs in a hook (where expect.poll is not available).
 */
import { vi } from 'vitest';

/**
 * vi.waitFor that names what it waited for: `probe` throws while the answer is not there yet, and on
 * a time-out the error says `what`, with the probe's last error (vi.waitFor alone reports only that).
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, options: { timeout: number; interval: number }): Promise<T> {
  try {
    return await vi.waitFor(probe, options);
  } catch (err) {
    throw new Error(`timed out after ${options.timeout} ms waiting for ${what}: ${(err as Error).message}`, { cause: err });
  }
}
