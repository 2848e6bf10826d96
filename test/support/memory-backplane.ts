import type { Backplane } from "../../src/lifetime/backplane.js";

/** How a MemoryBackplane's calls fail: not at all, by throwing at once, or by rejecting. */
export type BackplaneFault = "none" | "throw" | "reject";

/**
 * An in-process backplane for the servers of one test: channels by name, messages delivered on
 * a later microtask, as an engine delivers them after publish returns. `fault` makes every call
 * fail; `deaf` makes publishes go out (resolving with 0 receivers) and reach nobody.
 */
export class MemoryBackplane implements Backplane {
  fault: BackplaneFault = "none";
  deaf = false;
  private readonly channels = new Map<string, Set<(payload: Uint8Array) => void>>();

  publish(channel: string, payload: Uint8Array): Promise<number> {
    return this.attempt("publish", () => {
      const receivers = this.deaf ? [] : [...(this.channels.get(channel) ?? [])];
      for (const receive of receivers) queueMicrotask(() => receive(payload));
      return receivers.length;
    });
  }

  subscribe(channel: string, onMessage: (payload: Uint8Array) => void): Promise<void> {
    return this.attempt("subscribe", () => {
      let handlers = this.channels.get(channel);
      if (!handlers) this.channels.set(channel, (handlers = new Set()));
      handlers.add(onMessage);
    });
  }

  unsubscribe(channel: string): Promise<void> {
    return this.attempt("unsubscribe", () => void this.channels.delete(channel));
  }

  close(): Promise<void> {
    return this.attempt("close", () => undefined);
  }

  private attempt<T>(call: string, run: () => T): Promise<T> {
    if (this.fault === "throw") throw new Error(`${call}: the backplane is not connected`);
    if (this.fault === "reject") return Promise.reject(new Error(`${call}: the backplane is not connected`));
    return Promise.resolve(run());
  }
}
