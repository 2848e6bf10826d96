/** The callbacks waiting on one signal, and the one listener that runs them. */
interface Waiting {
  readonly callbacks: Set<() => void>;
  readonly onAbort: () => void;
}

const waitingOn = new WeakMap<AbortSignal, Waiting>();

/**
 * Calls `callback` once `signal` aborts; returns what lets go of it, to be called when the work
 * it would cancel is over. However many callbacks wait on one signal, the signal has one
 * listener: one signal often serves many calls (one timeout for a question to every client, a
 * page's signal for all its calls), and Node warns of a leak past ten listeners on a signal.
 * As with a listener, a signal that has already aborted never calls back: check `aborted` first.
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  const waiting = waitingOn.get(signal) ?? listenTo(signal);
  // A function of its own: the same callback may wait twice, and each wait is let go alone.
  const run = () => callback();
  waiting.callbacks.add(run);
  return () => {
    if (!waiting.callbacks.delete(run) || waiting.callbacks.size > 0) return;
    // The last one: the signal keeps nothing of its callers.
    if (waitingOn.get(signal) === waiting) waitingOn.delete(signal);
    signal.removeEventListener("abort", waiting.onAbort);
  };
}

function listenTo(signal: AbortSignal): Waiting {
  const callbacks = new Set<() => void>();
  const onAbort = () => {
    waitingOn.delete(signal);
    for (const run of callbacks) run();
  };
  const waiting = { callbacks, onAbort };
  waitingOn.set(signal, waiting);
  signal.addEventListener("abort", onAbort, { once: true });
  return waiting;
}
