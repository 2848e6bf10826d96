import type { HubConnection } from "../connection/hub-connection.js";
import { errorCompletion, MessageType, voidCompletion } from "../protocol/messages.js";
import { detailFor, errorTexts } from "./error-texts.js";
import type { InvocationScope } from "./invocation-scope.js";

/** Past this many unsent bytes a stream waits until the transport has drained what it holds. */
const highWaterBytes = 64 * 1024;
/**
 * Producers that always have their next item ready never leave the microtask queue, and other
 * clients' I/O would wait for them. Past this many items sent by all streams in one turn of the
 * event loop, each stream lets the loop turn before it sends its next.
 */
const itemsPerTurn = 256;
let itemsThisTurn = 0;
let turnResetScheduled = false;

function yieldIfTurnIsOver(): Promise<void> | undefined {
  if (++itemsThisTurn < itemsPerTurn) return undefined;
  if (!turnResetScheduled) {
    turnResetScheduled = true;
    setImmediate(() => {
      turnResetScheduled = false;
      itemsThisTurn = 0;
    });
  }
  return new Promise<void>((resolve) => setImmediate(resolve));
}

const aborted = Symbol("aborted");

export interface StreamPumpContext {
  connection: HubConnection;
  scope: InvocationScope;
  enableDetailedErrors: boolean;
  /** Reports a stream that failed (the client gets the error Completion regardless). */
  onError(error: unknown): void;
}

/**
 * Sends a server-to-client stream: one StreamItem per value, then one Completion, with an error
 * if the iterable threw. A cancel stops it between items (or while it waits for the next one),
 * and still ends with a Completion without error, as ASP.NET Core does. A slow reader makes the
 * stream wait rather than buffer without bound.
 */
export async function pumpStream(iterable: AsyncIterable<unknown>, invocationId: string, context: StreamPumpContext): Promise<void> {
  const { connection, scope } = context;
  const signal = scope.abortSignal;
  // One wake-up slot rather than racing a long-lived promise, which would gain a reaction per item.
  let wake: ((value: typeof aborted) => void) | undefined;
  const onAbort = (): void => wake?.(aborted);
  signal.addEventListener("abort", onAbort, { once: true });
  let iterator: AsyncIterator<unknown> | undefined;
  let failed = false;
  let failure: unknown;
  /** The producer threw (or rejected) itself: it is over, and is not told to stop. */
  let producerFailed = false;
  let cancelled = false;
  try {
    iterator = iterable[Symbol.asyncIterator]();
    for (;;) {
      if (signal.aborted) {
        cancelled = true;
        break;
      }
      let step: IteratorResult<unknown> | typeof aborted;
      try {
        step = await new Promise<IteratorResult<unknown> | typeof aborted>((resolve, reject) => {
          wake = resolve;
          iterator!.next().then(resolve, reject);
        });
      } catch (error) {
        producerFailed = true;
        throw error;
      }
      if (step === aborted) {
        cancelled = true;
        break;
      }
      if (step.done) break;
      connection.write({ type: MessageType.StreamItem, invocationId, item: step.value });
      const turnOver = yieldIfTurnIsOver();
      if (turnOver) await turnOver;
      if (connection.bufferedBytes > highWaterBytes) {
        // The same wake-up slot: a cancel while waiting stops the stream at once.
        const woken = await new Promise<void | typeof aborted>((resolve) => {
          wake = resolve;
          connection.whenDrained().then(resolve);
        });
        if (woken === aborted) {
          cancelled = true;
          break;
        }
      }
    }
  } catch (error) {
    failed = true; // `undefined` may be what was thrown
    failure = error;
  } finally {
    wake = undefined;
    signal.removeEventListener("abort", onAbort);
  }
  // Cancelled, or failed on this side (an item that cannot be serialized): the producer is still
  // running, and is told to stop, as a for-await loop that breaks or throws tells it.
  if (cancelled || (failed && !producerFailed)) {
    // Let the producer run its finally blocks; it may be parked on an await we cannot interrupt.
    // What it throws while being stopped (an AbortError, typically) is expected and dropped.
    try {
      iterator?.return?.().then(undefined, () => {});
    } catch {
      // a producer that throws while being stopped has nothing more to say
    }
  }
  if (failed) {
    context.onError(failure);
    const detail = detailFor(failure, context.enableDetailedErrors);
    connection.write(errorCompletion(invocationId, errorTexts.streamFailed(detail)));
  } else {
    connection.write(voidCompletion(invocationId));
  }
}
