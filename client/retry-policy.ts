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
