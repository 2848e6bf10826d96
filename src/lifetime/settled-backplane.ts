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
    publish: (channel, payload) => {
      try {
        return backplane.publish(channel, payload);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    subscribe: (channel, onMessage) => {
      try {
        return backplane.subscribe(channel, onMessage);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    unsubscribe: (channel) => {
      try {
        return backplane.unsubscribe(channel);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    close: () => {
      try {
        return backplane.close();
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
  // The optional parts only where the backplane has them: their absence means something (see Backplane).
  if (backplane.resubscribeAll) {
    wrapped.resubscribeAll = () => {
      try {
        return backplane.resubscribeAll!();
      } catch (error) {
        return Promise.reject(error);
      }
    };
  }
  // Called when a hub is mapped: a throw there is a setup mistake, reported at startup.
  if (backplane.lifetimeManagerFor) wrapped.lifetimeManagerFor = (options) => backplane.lifetimeManagerFor!(options);
  settled.add(wrapped);
  return wrapped;
}
