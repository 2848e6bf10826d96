import { expect } from "vitest";

// The one way tests wait: on the event itself (a promise, or a condition checked until it holds),
// never for a fixed time. The limits are generous because the tests must pass on a loaded 2-core
// machine; they only decide how long a broken test takes to say what never happened.

/** How long a wait lasts before it fails, unless a test says otherwise. */
export const defaultWaitMs = 10_000;

const checkEveryMs = 10;

/**
 * Settles with `promise`, or fails after `ms` naming what never happened.
 *
 * @example
 * const url = await within(printed, "the sample to print its URL", 90_000);
 */
export function within<T>(promise: Promise<T>, what: string, ms = defaultWaitMs): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Waits until `condition()` holds, failing after `ms` naming what never happened; `what` may be a
 * function, to say what was seen instead.
 *
 * @example
 * await waitFor(() => server.connectionCount === 0, "every connection to end");
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
  ms = defaultWaitMs,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, checkEveryMs));
  }
}

/**
 * Waits until `check()` gives `expected` (compared as JSON); if it never does, fails as
 * `expect(actual).toEqual(expected)` would, with the last value seen.
 *
 * @example
 * await eventually(() => log.at(-1), "disconnected with an error");
 */
export async function eventually(check: () => unknown, expected: unknown, ms = defaultWaitMs): Promise<void> {
  const deadline = Date.now() + ms;
  let actual = await check();
  while (JSON.stringify(actual) !== JSON.stringify(expected) && Date.now() <= deadline) {
    await new Promise((resolve) => setTimeout(resolve, checkEveryMs));
    actual = await check();
  }
  expect(actual).toEqual(expected);
}

/** Resolves once `time` (ms since the epoch) has passed: a moment under test (a token's expiry), not a guess. */
export function reach(time: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, time - Date.now()) + 5));
}
