import { onRejection } from "../src/protocol/thrown-value.js";
import type { Logger } from "./logger.js";

/** What `onRetrying` listeners get: an attempt to connect failed, and another follows. */
export interface RetryEvent {
  /** The attempt that failed: 1 for the first (the first start() or the first reconnect). */
  attempt: number;
  /** Why it failed. */
  error: Error;
  /** The wait before the next attempt. */
  delayMs: number;
}

/** Each lifecycle event and what its listeners receive. */
interface EventArguments {
  close: Error | undefined;
  reconnecting: Error | undefined;
  reconnected: string | null;
  retrying: RetryEvent;
  authenticationRefreshed: number | undefined;
  authenticationRefreshFailed: Error;
}

type Listener<A> = (argument: A) => void;

/**
 * A connection's lifecycle listeners. A listener that throws is reported to the logger and the
 * others still run: one page's bug never stops the connection's own work.
 */
export class ConnectionEvents {
  private readonly listeners: { [K in keyof EventArguments]: Set<Listener<EventArguments[K]>> } = {
    close: new Set(),
    reconnecting: new Set(),
    reconnected: new Set(),
    retrying: new Set(),
    authenticationRefreshed: new Set(),
    authenticationRefreshFailed: new Set(),
  };

  constructor(private readonly logger: Logger) {}

  add<K extends keyof EventArguments>(event: K, listener: Listener<EventArguments[K]>): () => void {
    const set = this.listeners[event] as Set<Listener<EventArguments[K]>>;
    set.add(listener);
    return () => void set.delete(listener);
  }

  emit<K extends keyof EventArguments>(event: K, argument: EventArguments[K]): void {
    for (const listener of [...(this.listeners[event] as Set<Listener<EventArguments[K]>>)]) {
      const threw = (error: unknown) => this.logger.error(`An on${event[0]!.toUpperCase()}${event.slice(1)} listener threw.`, { error });
      try {
        onRejection(listener(argument), threw); // an async listener's rejection is its throw
      } catch (error) {
        threw(error);
      }
    }
  }
}
