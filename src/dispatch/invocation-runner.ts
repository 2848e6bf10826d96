import type { LogEvent } from "../logger.js";
import { errorCompletion, MessageType, type CompletionMessage } from "../protocol/messages.js";
import { byteLength } from "../protocol/utf8.js";
import type { ConnectionSession } from "./connection-session.js";
import { dispatchLog } from "./dispatch-log.js";
import { errorTexts } from "./error-texts.js";
import type { HubRuntime } from "./hub-runtime.js";
import { InvocationQueue } from "./invocation-queue.js";
import { InvocationRate } from "./invocation-rate.js";
import { InvocationScope } from "./invocation-scope.js";
import { invoke, type HubInvocation, type InvocationWork } from "./invoker.js";
import { limitTexts } from "./limit-texts.js";
import { UploadStream } from "./upload-stream.js";

/**
 * One connection's calls: invocations run in arrival order, at most
 * `maximumParallelInvocationsPerClient` at once (server streams and calls with uploads run
 * beside them) and, with `maximumInvocationsPerSecondPerClient`, no faster than that; the others
 * wait in a bounded queue. Each is findable by its id for CancelInvocation, and upload streams
 * by their stream id. Nothing runs before `start` (the hub's onConnected has completed).
 */
export class InvocationRunner {
  /** Invocations waiting their turn, bounded (made on first use). */
  private pending: InvocationQueue | undefined = undefined;
  /** The data being read and how many messages it held: a queued invocation's size is its share. */
  private readingData: string | Uint8Array = "";
  private readingUtf8: Uint8Array | undefined = undefined;
  private readingCount = 1;
  /** readingShare() of the data being read, once computed (-1 until then): text is measured once per read. */
  private readingShareBytes = -1;
  /** Invocations with an id that are queued or still running, for CancelInvocation (made on first use). */
  private scopes: Map<string, InvocationScope> | undefined;
  /** Open upload streams by stream id (made on first use). */
  private uploads: Map<string, UploadStream> | undefined;
  /**
   * Upload streams of calls accepted and not yet ended, against maximumUploadStreamsPerClient.
   * Not the size of `uploads`: a stream the client has ended leaves that map, but its call still
   * runs, beside maximumParallelInvocationsPerClient, until it lets its streams go.
   */
  private uploadsHeld = 0;
  /** Server streams accepted and not yet ended, against maximumStreamsPerClient. */
  private streams = 0;
  private running = 0;
  private draining = false;
  /** The connection's maximumInvocationsPerSecondPerClient (made by its first invocation, when the hub has one). */
  private rate: InvocationRate | undefined;
  /** Set while the invocation next in line waits for the rate: it starts when this fires. */
  private rateTimer: ReturnType<typeof setTimeout> | undefined;
  /** The queued invocation last counted as held back by the rate, so that each is counted once. */
  private heldBack: InvocationWork | undefined;
  /** Told when the last invocation ends (a connection about to move waits for it). */
  private idleWaiter: (() => void) | undefined;

  constructor(
    private readonly runtime: HubRuntime,
    private readonly session: ConnectionSession,
    /** Whether the hub's onConnected has completed. */
    private started: boolean,
  ) {}

  /** onConnected has completed: what waited runs now. */
  start(): void {
    this.started = true;
    this.drain();
  }

  /**
   * The messages of one read are dispatched between this and endRead: `count` of them came in
   * `data`, or in `partBytes` of it where given (a multiplexed hub's envelope in its frame).
   */
  beginRead(data: string | Uint8Array, utf8: Uint8Array | undefined, count: number, partBytes?: number): void {
    this.readingData = data;
    this.readingUtf8 = utf8;
    this.readingCount = count;
    this.readingShareBytes = partBytes === undefined ? -1 : Math.ceil(partBytes / Math.max(1, count));
  }

  endRead(): void {
    this.readingData = "";
    this.readingUtf8 = undefined;
    this.readingShareBytes = -1;
  }

  /** An item of an upload stream; false when no such stream is open. */
  streamItem(streamId: string, item: unknown): boolean {
    const upload = this.uploads?.get(streamId);
    upload?.push(item);
    return upload !== undefined;
  }

  /** The client ends an upload stream; false when no such stream is open. */
  completeUpload(message: CompletionMessage): boolean {
    const upload = this.uploads?.get(message.invocationId);
    if (!upload) return false;
    this.uploads!.delete(message.invocationId);
    upload.complete(message.error);
    return true;
  }

  /** The client's CancelInvocation; false when no such invocation waits or runs. */
  cancel(invocationId: string): boolean {
    const scope = this.scopes?.get(invocationId);
    scope?.cancel();
    return scope !== undefined;
  }

  /** Cancels every invocation that waits or runs. */
  cancelAll(): void {
    for (const scope of this.scopes?.values() ?? []) scope.cancel();
  }

  /** The connection is over here: what waits is dropped, open uploads are discarded. */
  clear(): void {
    clearTimeout(this.rateTimer);
    this.rateTimer = undefined;
    this.heldBack = undefined;
    if (this.pending) for (const work of this.pending.clear()) this.release(work);
    if (this.uploads) for (const upload of this.uploads.values()) upload.discard();
    this.uploads = undefined;
  }

  /** Resolves true once no invocation runs or waits, false if that takes more than `ms`. */
  idle(ms: number): Promise<boolean> {
    const busy = () => this.running > 0 || this.streams > 0 || this.uploadsHeld > 0 || (this.pending?.length ?? 0) > 0;
    if (!busy()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiter = undefined;
        resolve(false);
      }, ms);
      this.idleWaiter = () => {
        if (busy()) return;
        clearTimeout(timer);
        this.idleWaiter = undefined;
        resolve(true);
      };
    });
  }

  /** An invocation arrives: its scope and upload streams exist from now on, even while it waits its turn. */
  accept(message: HubInvocation): void {
    const { connection } = this.session;
    const id = message.invocationId;
    if (id !== undefined && this.scopes?.has(id)) {
      connection.write(errorCompletion(id, errorTexts.invocationIdInUse(id)));
      return;
    }
    const { options } = this.runtime;
    const stream = message.type === MessageType.StreamInvocation;
    if (stream && this.streams >= options.maximumStreamsPerClient) {
      return this.refuse(message, dispatchLog.tooManyStreams, limitTexts.tooManyStreams(message.target, options.maximumStreamsPerClient));
    }
    let uploads: UploadStream[] | undefined;
    if (message.streamIds) {
      const { maximumUploadStreamsPerClient: maxUploads } = options;
      const idInUse = this.streamIdInUse(message.streamIds);
      if (idInUse !== undefined) {
        return this.refuse(message, dispatchLog.uploadStreamIdInUse, limitTexts.uploadStreamIdInUse(message.target, idInUse));
      }
      if (this.uploadsHeld + message.streamIds.length > maxUploads) {
        return this.refuse(message, dispatchLog.tooManyUploadStreams, limitTexts.tooManyUploadStreams(message.target, maxUploads));
      }
      this.uploadsHeld += message.streamIds.length;
      const capacity = this.runtime.options.streamBufferCapacity;
      const open = (this.uploads ??= new Map());
      uploads = message.streamIds.map((streamId) => {
        const upload = new UploadStream(capacity, connection.transport);
        open.set(streamId, upload);
        return upload;
      });
    }
    if (stream) this.streams++;
    const scope = new InvocationScope(connection, id);
    const background = stream || uploads !== undefined;
    const work: InvocationWork = { message, scope, uploads, background };
    if (this.started && !this.pending?.length && (background || this.running < options.maximumParallelInvocationsPerClient) && this.withinRate()) {
      this.startInvocation(work);
    } else {
      this.track(work);
      this.pending ??= new InvocationQueue(
        options.maximumQueuedInvocationsPerClient,
        options.maximumQueuedInvocationBytesPerClient,
        connection.transport,
      );
      this.pending.push(work, this.readingShare());
      // Held back by the rate alone, nothing else would start it: drain waits for the rate.
      if (this.rate && this.rateTimer === undefined) this.drain();
    }
  }

  /** Whether maximumInvocationsPerSecondPerClient (if the hub has one) lets an invocation start now; if so, it counts. */
  private withinRate(): boolean {
    const perSecond = this.runtime.options.maximumInvocationsPerSecondPerClient;
    if (perSecond === null) return true;
    const now = performance.now();
    return (this.rate ??= new InvocationRate(perSecond, this.runtime.options.invocationBurstPerClient, now)).take(now);
  }

  /** The invocation next in line waits for the rate: counted once, and drained again when it may start. */
  private waitForRate(next: InvocationWork): void {
    if (this.heldBack !== next) {
      this.heldBack = next;
      this.runtime.invocationsHeldBack.add();
    }
    if (this.rateTimer !== undefined) return;
    this.rateTimer = setTimeout(() => {
      this.rateTimer = undefined;
      this.drain();
    }, this.rate!.msUntilNext(performance.now()));
  }

  /**
   * A stream id of `streamIds` that an open upload stream has, or that comes twice, if any.
   * Taking it would leave the call that has it running with a stream nobody can feed or end.
   */
  private streamIdInUse(streamIds: string[]): string | undefined {
    return streamIds.find((streamId, i) => this.uploads?.has(streamId) || streamIds.indexOf(streamId) !== i);
  }

  /** The bytes a queued invocation stands for: its share of the data it arrived in. */
  private readingShare(): number {
    if (this.readingShareBytes < 0) {
      const bytes = this.readingUtf8 ? this.readingUtf8.byteLength : byteLength(this.readingData);
      this.readingShareBytes = Math.ceil(bytes / Math.max(1, this.readingCount));
    }
    return this.readingShareBytes;
  }

  /**
   * An invocation past one of the connection's bounds (server streams, upload streams) fails
   * alone, with `text`; the items of its upload streams are ignored.
   */
  private refuse(message: HubInvocation, event: LogEvent, text: string): void {
    this.runtime.log.write(event, { ...this.session.logFields, method: message.target });
    if (message.invocationId !== undefined) this.session.connection.write(errorCompletion(message.invocationId, text));
  }

  /**
   * Makes an invocation findable by its id, for CancelInvocation and the id-in-use check. Only
   * invocations that wait or run past the message that started them need it: one that completes
   * within `invoke` is over before the next message is read, and leaving it out saves a map
   * insert and delete per call (a map that empties shrinks, and grows again on the next call).
   */
  private track(work: InvocationWork): void {
    const id = work.message.invocationId;
    if (id !== undefined) (this.scopes ??= new Map()).set(id, work.scope);
  }

  private startInvocation(work: InvocationWork): void {
    if (!work.background) this.running++;
    const pending = invoke(this.runtime, this.session, work);
    if (pending) {
      this.track(work);
      pending.then(
        () => this.invocationDone(work),
        (error: unknown) => {
          // invoke() catches whatever a hub throws; this is a fault of hubwire's own, and the
          // connection must go on serving its other calls all the same.
          this.runtime.log.write(dispatchLog.invocationRejected, { ...this.session.logFields, method: work.message.target, error });
          this.invocationDone(work);
        },
      );
    } else this.invocationDone(work);
  }

  private invocationDone(work: InvocationWork): void {
    this.release(work);
    if (!work.background) {
      this.running--;
      this.drain();
    }
    this.idleWaiter?.();
  }

  /** Forgets an invocation's scope and completes the upload streams it left open. */
  private release(work: InvocationWork): void {
    const { message, scope, uploads } = work;
    if (message.type === MessageType.StreamInvocation) this.streams--;
    if (message.invocationId !== undefined && this.scopes?.get(message.invocationId) === scope) {
      this.scopes.delete(message.invocationId);
    }
    scope.dispose();
    if (!uploads) return;
    this.uploadsHeld -= uploads.length;
    message.streamIds!.forEach((streamId, i) => {
      if (this.uploads && this.uploads.get(streamId) === uploads[i]) this.uploads.delete(streamId);
    });
    for (const upload of uploads) upload.discard();
  }

  private drain(): void {
    if (this.draining) return; // a synchronous invocation finished inside the loop below
    this.draining = true;
    const limit = this.runtime.options.maximumParallelInvocationsPerClient;
    const pending = this.pending;
    while (this.started && pending && pending.length > 0 && !this.session.connection.isClosing) {
      const next = pending.peek()!;
      if (!next.background && this.running >= limit) break;
      if (!this.withinRate()) {
        this.waitForRate(next);
        break;
      }
      if (next === this.heldBack) this.heldBack = undefined;
      this.startInvocation(pending.shift()!);
    }
    this.draining = false;
  }
}
