/** Where a guarded signal hands what its listeners throw. */
export interface ListenerFailures {
  listenerThrew(error: unknown): void;
}

/**
 * Makes every listener added to `signal` from now on unable to crash the process, for signals
 * handed to hub code. Node reports a listener that throws (or whose promise rejects) as an
 * uncaught exception, on the next tick, out of reach of the `abort()` that ran it: a hub's faulty
 * cancellation code, run because a client cancelled a call, would end the server. A guarded
 * signal runs each listener wrapped instead, and hands what it throws to `failures`. `onabort`
 * goes through `addEventListener` and is wrapped too. Guarding a signal again changes nothing.
 *
 * Only signals hub code reads are guarded: guarding every stream's signal, its pump's own
 * listener wrapped with the rest, made a stream call cost a fifth more (about 10 of 50 µs of CPU,
 * client and server in one process), which a stream whose hub never reads its signal need not pay.
 */
export function guardListeners(signal: AbortSignal, failures: ListenerFailures): void {
  const guarded = signal as GuardedSignal;
  if (guarded[guardKey]) return;
  guarded[guardKey] = { failures, listeners: [], wrappers: [] };
  guarded.addEventListener = guardedAdd;
  guarded.removeEventListener = guardedRemove;
}

const guardKey = Symbol("guard");

interface Guard {
  readonly failures: ListenerFailures;
  /** The listeners added, each beside its wrapper (a signal has a few; removing one removes its pair). */
  readonly listeners: EventListenerOrEventListenerObject[];
  readonly wrappers: Array<(event: Event) => void>;
}

interface GuardedSignal extends AbortSignal {
  [guardKey]?: Guard;
}

const { addEventListener: add, removeEventListener: remove } = EventTarget.prototype;

function guardedAdd(this: GuardedSignal, type: string, listener: EventListenerOrEventListenerObject, options?: AddEventListenerOptions | boolean): void {
  if (!listener) return add.call(this, type, listener, options); // Node ignores a null listener
  const guard = this[guardKey]!;
  const known = guard.listeners.indexOf(listener);
  // A listener added twice is added once: its one wrapper is added again, which Node ignores.
  add.call(this, type, known >= 0 ? guard.wrappers[known]! : wrap(guard, listener), options);
}

function guardedRemove(this: GuardedSignal, type: string, listener: EventListenerOrEventListenerObject, options?: EventListenerOptions | boolean): void {
  const guard = this[guardKey]!;
  const known = listener ? guard.listeners.indexOf(listener) : -1;
  if (known < 0) return remove.call(this, type, listener, options); // added before the guard
  remove.call(this, type, guard.wrappers[known]!, options);
  guard.listeners.splice(known, 1);
  guard.wrappers.splice(known, 1);
}

function wrap(guard: Guard, listener: EventListenerOrEventListenerObject): (event: Event) => void {
  const report = (error: unknown) => guard.failures.listenerThrew(error);
  const wrapper = function (this: AbortSignal, event: Event) {
    try {
      const result: unknown = typeof listener === "function" ? listener.call(this, event) : listener.handleEvent(event);
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") (result as PromiseLike<unknown>).then(undefined, report);
    } catch (error) {
      report(error);
    }
  };
  guard.listeners.push(listener);
  guard.wrappers.push(wrapper);
  return wrapper;
}
