import { isFinal, stoppedBeforeConnected } from "./errors.js";
import type { Logger } from "./logger.js";
import { delayFrom, type RetryPolicy } from "./retry-policy.js";
import { wakeableSleep } from "./wakeable-sleep.js";

/** What the attempts to connect a multiplexer's shared connection need. */
export interface SharedConnectionRetries {
  policy: RetryPolicy;
  /** One attempt: negotiate and open the transport. */
  connectOnce(): Promise<void>;
  /** stop() was called: no attempt follows. */
  stopping(): boolean;
  /** The policy gave up, or the server refused the credentials: `error` ends every hub's attempts too. */
  gaveUp(error: Error): void;
  log: Logger;
  /** Set while waiting between attempts: a stop() calls it to end the wait at once. */
  setWake(wake: (() => void) | undefined): void;
}

/**
 * The one retry loop of a multiplexer's shared connection: attempts, with the retry policy's
 * waits between them, until one connects, the policy gives up or stop() is called. Every hub's
 * own attempt waits for this loop rather than negotiating on its own.
 */
export async function connectWithRetries(retries: SharedConnectionRetries): Promise<void> {
  const began = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await retries.connectOnce();
    } catch (error) {
      const failure = error as Error;
      if (retries.stopping()) throw stoppedBeforeConnected();
      const delay = isFinal(failure) ? null : delayFrom(retries.policy, attempt, Date.now() - began, failure, retries.log);
      if (delay === null) {
        retries.gaveUp(failure);
        throw failure;
      }
      retries.log.info(`Connecting the shared connection failed (attempt ${attempt}); trying again in ${delay} ms.`, { error });
      await wakeableSleep(delay, retries.setWake);
      if (retries.stopping()) throw stoppedBeforeConnected(); // woken by stop(): no attempt follows
    }
  }
}
