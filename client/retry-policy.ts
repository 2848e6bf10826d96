import { textOf } from "../src/protocol/thrown-value.js";
import type { Logger } from "./logger.js";

/** Decides whether and when to try connecting again. */
export interface RetryPolicy {
  /**
   * The delay before attempt `attempt` (1 for the first retry), or null to give up.
   * `elapsedMs` is the time since the connection was lost (or since start() began).
   */
  nextDelay(attempt: number, elapsedMs: number, error: Error | undefined): number | null;
}

/**
 * 0 s, 1 s, 2 s, 5 s, then every 10 s, each with ±20 % jitter (so a server restart is not met by
 * every client at the same instant); gives up after `giveUpAfterMs` (default 2 minutes).
 */
export function defaultRetryPolicy(giveUpAfterMs = 120_000): RetryPolicy {
  const delays = [0, 1000, 2000, 5000];
  return {
    nextDelay(attempt, elapsedMs) {
      if (elapsedMs >= giveUpAfterMs) return null;
      const base = delays[attempt - 1] ?? 10_000;
      return Math.round(base * (0.8 + Math.random() * 0.4));
    },
  };
}

/** Never retries: a lost connection is closed. */
export const noRetry: RetryPolicy = { nextDelay: () => null };

/**
 * `policy`'s delay, read safely: a policy that throws, or gives what is not a wait (NaN, a
 * negative or infinite number), gives up, with a line in `log`, rather than leave a connection
 * stuck or retrying without pause.
 */
export function delayFrom(policy: RetryPolicy, attempt: number, elapsedMs: number, error: Error | undefined, log: Logger): number | null {
  let delay: unknown;
  try {
    delay = policy.nextDelay(attempt, elapsedMs, error);
  } catch (thrown) {
    log.error("The retry policy threw; no further attempt is made.", { error: thrown });
    return null;
  }
  if (delay === null) return null;
  if (typeof delay === "number" && delay >= 0 && Number.isFinite(delay)) return delay;
  log.error(`The retry policy gave ${textOf(delay)}, not a delay; no further attempt is made.`);
  return null;
}
