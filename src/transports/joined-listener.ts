import type { EventEmitter } from "node:events";

/** A listener of an event with one argument (a "data" chunk, an error): all this is used for. */
type Listener = (this: unknown, argument: unknown) => void;
/** Any such listener, whatever it takes its emitter and argument to be; `around` ones are given the one they join. */
type AnyListener = (this: never, argument: never, theirs: never) => void;
/** Whose listener runs first; `around`: ours runs alone and calls theirs as it sees fit (undefined if it joined none). */
type Order = "before" | "after" | "around";

/**
 * Adds a listener to an event that already has exactly one, as a single function that calls
 * both, in a set order. An emitter keeps one listener as the function itself and two as an
 * array (64 bytes), and a WebSocket transport listens to three events of every connection that
 * `ws` listens to once (a read's end, an oversized message, a ping): a joined function costs
 * nothing per connection.
 *
 * The joined function carries the one it replaced as its `listener`, as `once()`'s wrappers do,
 * so whoever added that one still removes it (with the joined function) by the function it
 * added, and `listeners()` still lists it. The joined functions are shared: one per listener
 * replaced (the same function of `ws` for every connection), the last one kept.
 */
export class JoinedListener {
  private readonly own: (this: unknown, argument: unknown, theirs?: Listener) => void;
  private replaced: Listener | undefined;
  private joined: Listener | undefined;

  constructor(
    own: AnyListener,
    private readonly order: Order,
  ) {
    this.own = own as (this: unknown, argument: unknown, theirs?: Listener) => void;
  }

  /** Listens with `own` to `event` of `emitter`: joined to its one listener, or added beside others. */
  attach(emitter: EventEmitter, event: string): void {
    const present = emitter.rawListeners(event) as Listener[];
    const theirs = present[0];
    // Anything but one plain listener (none, several, a once() wrapper) is left as it is.
    if (present.length !== 1 || !theirs || (theirs as { listener?: unknown }).listener !== undefined) {
      if (this.order === "before") emitter.prependListener(event, this.own);
      else emitter.on(event, this.own);
      return;
    }
    emitter.removeListener(event, theirs);
    emitter.on(event, this.joinedWith(theirs));
  }

  private joinedWith(theirs: Listener): Listener {
    if (this.replaced === theirs && this.joined) return this.joined;
    const own = this.own;
    const joined: Listener =
      this.order === "around"
        ? function (this: unknown, argument: unknown) {
            own.call(this, argument, theirs);
          }
        : this.order === "before"
          ? function (this: unknown, argument: unknown) {
              own.call(this, argument);
              theirs.call(this, argument);
            }
          : function (this: unknown, argument: unknown) {
              theirs.call(this, argument);
              own.call(this, argument);
            };
    (joined as { listener?: Listener }).listener = theirs;
    this.replaced = theirs;
    this.joined = joined;
    return joined;
  }
}
