import type { Backplane } from "./backplane.js";

/** The backplanes settledBackplane made: wrapping one again would only add a call. */
const settled = new WeakSet<Backplane>();

/**
 * `backplane` as hubwire calls it: each call returns a promise, and one that throws instead
 * (a client that checks its socket before it returns a promise, say) returns a rejected one.
 * Its callers are timers and socket listeners, written for a promise that rejects, where a
 * throw would end the process. Made once per backplane; a call costs one call more.
 */
export function settledBackplane(backplane: Backplane): Backplane {
  if (settled.has(backplane)) return backplane;
  const wrapped: Backplane = {
    publish: settle((channel, payload) => backplane.publish(channel, payload)),
    subscribe: settle((channel, onMessage) => backplane.subscribe(channel, onMessage)),
    unsubscribe: settle((channel) => backplane.unsubscribe(channel)),
    close: settle(() => backplane.close()),
  };
  // The optional parts only where the backplane has them: their absence means something (see Backplane).
  if (backplane.resubscribeAll) wrapped.resubscribeAll = settle(() => backplane.resubscribeAll!());
  // Called when a hub is mapped: a throw there is a setup mistake, reported at startup.
  if (backplane.watchLinks) wrapped.watchLinks = (events) => backplane.watchLinks!(events);
  if (backplane.lifetimeManagerFor) wrapped.lifetimeManagerFor = (options) => backplane.lifetimeManagerFor!(options);
  settled.add(wrapped);
  return wrapped;
}

/** `call`, returning a rejected promise where it would throw. */
function settle<A extends unknown[], R>(call: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args) => {
    try {
      return call(...args);
    } catch (error) {
      return Promise.reject(error);
    }
  };
}
