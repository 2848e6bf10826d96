import type { ConnectionEvents } from "./connection-events.js";
import type { HubConnectionOptions } from "./connection-options.js";
import { isFinal, stoppedBeforeConnected } from "./errors.js";
import type { ConnectionState } from "./hub-connection.js";
import type { Logger } from "./logger.js";
import { defaultRetryPolicy, delayFrom, noRetry, type RetryPolicy } from "./retry-policy.js";
import { wakeableSleep } from "./wakeable-sleep.js";

/** What the retry loop needs of its connection. */
export interface RetryHost {
  /** One attempt: negotiate, open a transport, complete the handshake. */
  connectOnce(): Promise<void>;
  /** stop() was called: no attempt follows. */
  stopRequested(): boolean;
  /** A reconnect goes on only while the connection is Reconnecting, and a failed attempt leaves it so. */
  state: ConnectionState;
  connectionId(): string | null;
  /** The reconnect is over without a connection: `error` is why the last attempt failed. */
  closed(error: Error | undefined): void;
  /** A reconnect attempt connected (and onReconnected was told): the calls held meanwhile may go. */
  reconnected(): void;
}

/**
 * The attempts to connect, of the first start() and of a reconnect: the retry policy's waits
 * between them (cut short by stop()), each failed attempt reported to `onRetrying`, and a
 * successful reconnect to `onReconnected`.
 */
export class RetryLoop {
  private readonly policy: RetryPolicy;
  private wakeRetry: (() => void) | undefined;

  constructor(
    /** The `reconnect` option: true or absent for the default policy, false for none. */
    reconnect: HubConnectionOptions["reconnect"],
    private readonly host: RetryHost,
    private readonly events: ConnectionEvents,
    private readonly log: Logger,
  ) {
    this.policy = reconnect === false ? noRetry : reconnect === true || reconnect === undefined ? defaultRetryPolicy() : reconnect;
  }

  /** False with `reconnect: false`: a lost connection is closed. */
  get reconnects(): boolean {
    return this.policy !== noRetry;
  }

  /** start()'s attempts: until one connects, the policy gives up (its error) or stop() is called (ERR_CANCELED). */
  async start(): Promise<void> {
    const { host } = this;
    const began = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await host.connectOnce();
      } catch (error) {
        if (host.stopRequested()) throw stoppedBeforeConnected();
        const delay = this.nextDelay(attempt, began, error as Error);
        if (delay === null) throw error;
        this.retrying(attempt, error as Error, delay);
        await this.sleep(delay);
        if (host.stopRequested()) throw stoppedBeforeConnected();
      }
    }
  }

  /** The attempts after a lost connection; `cause` is why it was lost. */
  async reconnect(cause: Error | undefined): Promise<void> {
    const { host } = this;
    const began = Date.now();
    let lastError = cause;
    for (let attempt = 1; ; attempt++) {
      // A stop ends the attempts; stop() then reports the close.
      if (host.stopRequested()) return;
      const delay = this.nextDelay(attempt, began, lastError);
      if (delay === null) return host.closed(lastError);
      if (attempt > 1) this.retrying(attempt - 1, lastError!, delay);
      await this.sleep(delay);
      if (host.stopRequested()) return;
      if (host.state !== "Reconnecting") return host.closed(lastError);
      try {
        await host.connectOnce();
      } catch (error) {
        host.state = "Reconnecting";
        lastError = error as Error;
        continue;
      }
      this.log.info("Reconnected.", { connectionId: host.connectionId() });
      this.events.emit("reconnected", host.connectionId());
      return host.reconnected();
    }
  }

  /** Waits `ms`, or less if stop() wakes it. */
  sleep(ms: number): Promise<void> {
    return wakeableSleep(ms, (wake) => (this.wakeRetry = wake));
  }

  /** Ends the wait in progress now: stop() was called. */
  wake(): void {
    this.wakeRetry?.();
  }

  /** The retry policy's delay, or null: it gave up, or no retry can help (see isFinal: the server refused the credentials, or closed the connection for good). */
  private nextDelay(attempt: number, began: number, error: Error | undefined): number | null {
    if (isFinal(error)) return null;
    return delayFrom(this.policy, attempt, Date.now() - began, error, this.log);
  }

  private retrying(attempt: number, error: Error, delayMs: number): void {
    this.log.info(`Connecting failed (attempt ${attempt}); trying again in ${delayMs} ms.`, { error });
    this.events.emit("retrying", { attempt, error, delayMs });
  }
}
