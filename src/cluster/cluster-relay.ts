import cluster, { type Worker } from "node:cluster";
import { HubwireError } from "../errors.js";
import { LogWriter, consoleLogger, type Logger } from "../logger.js";
import { clusterLog } from "./cluster-log.js";
import { isBackplaneMessage, type ToPrimary, type ToWorker } from "./cluster-messages.js";

export interface ClusterRelayOptions {
  /**
   * Bytes relayed to one worker that its IPC channel has not written yet: a worker that stops
   * reading (its event loop blocked, or hung) makes the primary hold what the others send it.
   * Past this, the worker is ended (SIGKILL), as Redis drops a subscriber that does not read,
   * so that one worker cannot take the primary's memory, and the cluster with it. Default 64 MiB.
   */
  maxUnwrittenBytes?: number;
  logger?: Logger;
}

/** What the primary has for a worker that takes batches, sent at the end of the turn (see deliver). */
interface Pending {
  readonly messages: ToWorker[];
  /** The relayed payloads' bytes among them (see maxUnwrittenBytes). */
  bytes: number;
}

/**
 * The primary's side of ClusterBackplane: the channels each worker subscribed, and every publish
 * relayed to the workers subscribed to its channel, in the order the primary reads them (each
 * IPC channel keeps its order, so a worker's messages reach another in the order it sent them).
 * A worker that exits, or whose backplane closes, is forgotten.
 */
export class ClusterRelay {
  private readonly subscribers = new Map<string, Set<Worker>>();
  private readonly channelsOf = new Map<Worker, Set<string>>();
  /** Bytes of messages relayed to each worker that its channel has not written yet (see maxUnwrittenBytes). */
  private readonly unwritten = new Map<Worker, number>();
  /**
   * Workers that take batches (they said so), and what each is sent at the end of this turn:
   * an IPC message costs the primary about as much to send as the bytes it carries, so what one
   * read of a worker's channel brings (a burst of publishes) goes to each worker as one.
   */
  private readonly batches = new Map<Worker, Pending | undefined>();
  private flushing = false;
  private readonly maxUnwrittenBytes: number;
  private readonly log: LogWriter;
  private readonly onMessage = (worker: Worker, message: unknown): void => {
    if (isBackplaneMessage<ToPrimary>(message)) this.handle(worker, message);
  };
  private readonly onExit = (worker: Worker): void => this.forget(worker);

  constructor(options: ClusterRelayOptions = {}) {
    this.maxUnwrittenBytes = options.maxUnwrittenBytes ?? 64 * 1024 * 1024;
    if (!(this.maxUnwrittenBytes > 0)) throw new HubwireError("ERR_INVALID_OPTION", `maxUnwrittenBytes must be a positive number, not ${String(options.maxUnwrittenBytes)}.`);
    this.log = LogWriter.for(options.logger ?? consoleLogger());
    cluster.on("message", this.onMessage);
    cluster.on("exit", this.onExit);
  }

  /** Stops relaying (the workers' publishes and subscriptions then wait, and fail in time). */
  stop(): void {
    cluster.off("message", this.onMessage);
    cluster.off("exit", this.onExit);
    this.subscribers.clear();
    this.channelsOf.clear();
    this.unwritten.clear();
    this.batches.clear();
  }

  private handle(worker: Worker, message: ToPrimary): void {
    let receivers = 0;
    switch (message.hubwireBackplane) {
      case "publish":
        // A worker forked before setupPrimary() sends JSON: its bytes arrive as an object of numbers.
        if (!(message.payload instanceof Uint8Array)) {
          if (worker.isConnected()) this.deliver(worker, { hubwireBackplane: "done", id: message.id, receivers: 0, refused: "serialization" });
          return;
        }
        for (const subscriber of this.subscribers.get(message.channel) ?? []) {
          if (this.relay(subscriber, message.channel, message.payload)) receivers++;
        }
        break;
      case "subscribe": {
        let workers = this.subscribers.get(message.channel);
        if (!workers) this.subscribers.set(message.channel, (workers = new Set()));
        workers.add(worker);
        let channels = this.channelsOf.get(worker);
        if (!channels) this.channelsOf.set(worker, (channels = new Set()));
        channels.add(message.channel);
        break;
      }
      case "unsubscribe":
        this.remove(worker, message.channel);
        this.channelsOf.get(worker)?.delete(message.channel);
        break;
      case "close":
        this.forget(worker);
        break;
      case "hello":
        if (message.batches !== true) return;
        this.batches.set(worker, undefined);
        if (worker.isConnected()) this.deliver(worker, { hubwireBackplane: "welcome", batches: true });
        return;
      case "batch": // a worker's requests of one turn, in order
        if (!Array.isArray(message.messages)) return;
        for (const inner of message.messages) if (isBackplaneMessage<ToPrimary>(inner) && inner.hubwireBackplane !== "batch") this.handle(worker, inner);
        return;
      default:
        return; // a kind of a newer hubwire: not answered, the worker's request fails in time
    }
    if (worker.isConnected()) this.deliver(worker, { hubwireBackplane: "done", id: message.id, receivers });
  }

  /** Relays a message to a subscribed worker; false if it cannot take it (gone, or ended now for what it left unread). */
  private relay(worker: Worker, channel: string, payload: Uint8Array): boolean {
    if (!worker.isConnected()) return false;
    const unwritten = (this.unwritten.get(worker) ?? 0) + payload.byteLength;
    if (unwritten > this.maxUnwrittenBytes) {
      this.log.write(clusterLog.workerEnded, { pid: worker.process.pid, unwrittenBytes: unwritten, maxUnwrittenBytes: this.maxUnwrittenBytes });
      this.forget(worker);
      worker.process.kill("SIGKILL");
      return false;
    }
    this.unwritten.set(worker, unwritten);
    this.deliver(worker, { hubwireBackplane: "message", channel, payload }, payload.byteLength);
    return true;
  }

  /**
   * Sends `message` to `worker` (`bytes`: of a relayed payload, counted unwritten until its
   * channel has written it): at once to a worker that takes no batches, else with the others
   * it has this turn, in order, once the turn's reads are handled.
   */
  private deliver(worker: Worker, message: ToWorker, bytes = 0): void {
    if (!this.batches.has(worker)) return send(worker, message, bytes > 0 ? () => this.written(worker, bytes) : undefined);
    const pending = this.batches.get(worker);
    if (pending) {
      pending.messages.push(message);
      pending.bytes += bytes;
    } else this.batches.set(worker, { messages: [message], bytes });
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushing = false;
    for (const [worker, pending] of this.batches) {
      if (!pending) continue;
      this.batches.set(worker, undefined);
      const { messages, bytes } = pending;
      if (!worker.isConnected()) continue;
      const message: ToWorker = messages.length === 1 ? messages[0]! : { hubwireBackplane: "batch", messages };
      send(worker, message, bytes > 0 ? () => this.written(worker, bytes) : undefined);
    }
  }

  /** `worker`'s channel has written `bytes` of relayed payloads. */
  private written(worker: Worker, bytes: number): void {
    const left = (this.unwritten.get(worker) ?? 0) - bytes;
    if (left > 0) this.unwritten.set(worker, left);
    else this.unwritten.delete(worker);
  }

  private forget(worker: Worker): void {
    for (const channel of this.channelsOf.get(worker) ?? []) this.remove(worker, channel);
    this.channelsOf.delete(worker);
    this.unwritten.delete(worker);
    this.batches.delete(worker);
  }

  private remove(worker: Worker, channel: string): void {
    const workers = this.subscribers.get(channel);
    if (!workers?.delete(worker) || workers.size > 0) return;
    this.subscribers.delete(channel);
  }
}

/** `written`: once the channel has written it (or failed to: the worker is gone, and forgotten on its exit). */
function send(worker: Worker, message: ToWorker, written?: () => void): void {
  try {
    worker.send(message, () => written?.());
  } catch {
    written?.();
  }
}
