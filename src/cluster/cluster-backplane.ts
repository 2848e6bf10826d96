import cluster from "node:cluster";
import { HubwireError } from "../errors.js";
import type { Backplane } from "../lifetime/backplane.js";
import { LogWriter, consoleLogger, type Logger } from "../logger.js";
import { lifetimeLog } from "../lifetime/lifetime-log.js";
import { ClusterRelay, type ClusterRelayOptions } from "./cluster-relay.js";
import { isBackplaneMessage, type ToPrimary, type ToWorker } from "./cluster-messages.js";

export interface ClusterBackplaneOptions {
  /** How long a publish or a subscription waits for the primary before it fails (ms). Default 2 000. */
  requestTimeout?: number;
  logger?: Logger;
}

/** A request to the primary that waits for its answer. */
interface Pending {
  resolve(receivers: number): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** One subscription, as made: a newer one of the same channel replaces it (see unsubscribe). */
interface Subscription {
  onMessage(payload: Uint8Array): void;
}

/**
 * The servers of one machine's Node cluster (`node:cluster`: a primary that forks a worker per
 * core) as one, with no engine to run: each worker's hubs share connections, groups and users
 * with the others' through the primary, which relays what they publish. Every worker serves
 * any request of any connection, so the cluster's own round-robin needs no sticky sessions.
 * The primary calls `ClusterBackplane.setupPrimary()` before it forks; each worker gives
 * `new ClusterBackplane()` to its HubServer.
 *
 * @example
 * if (cluster.isPrimary) {
 *   ClusterBackplane.setupPrimary();
 *   for (let i = 0; i < availableParallelism(); i++) cluster.fork();
 * } else {
 *   const server = new HubServer({ backplane: new ClusterBackplane() });
 *   server.mapHub("/chat", ChatHub);
 *   await server.listen(5000);
 * }
 */
export class ClusterBackplane implements Backplane {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly pending = new Map<number, Pending>();
  private readonly requestTimeout: number;
  private readonly log: LogWriter;
  private nextId = 0;
  private closed = false;
  /**
   * The primary answered the hello (see ToWorker's welcome): a turn's requests then go to it as
   * one IPC message, which costs both ends about what one request alone does.
   */
  private primaryTakesBatches = false;
  /** The requests of this turn, sent together once it ends (only once the primary takes batches). */
  private outgoing: ToPrimary[] | undefined;
  private readonly onMessage = (message: unknown): void => {
    if (isBackplaneMessage<ToWorker>(message)) this.received(message);
  };
  private readonly onDisconnect = (): void => this.failPending("The cluster's primary is gone.");

  /**
   * In the primary, before `cluster.fork()`: the workers are forked with the serialization the
   * backplane's bytes need, and the primary relays what they publish. Returns a function that
   * stops relaying.
   */
  static setupPrimary(options: ClusterRelayOptions = {}): () => void {
    if (!cluster.isPrimary) throw new HubwireError("ERR_CLUSTER_ROLE", "ClusterBackplane.setupPrimary() is for the cluster's primary; its workers make a ClusterBackplane.");
    const relay = new ClusterRelay(options); // checks the options first
    cluster.setupPrimary({ serialization: "advanced" });
    return () => relay.stop();
  }

  constructor(options: ClusterBackplaneOptions = {}) {
    if (!cluster.isWorker || !process.send) {
      throw new HubwireError("ERR_CLUSTER_ROLE", "A ClusterBackplane is made in a worker of a Node cluster; its primary calls ClusterBackplane.setupPrimary().");
    }
    this.requestTimeout = options.requestTimeout ?? 2_000;
    this.log = LogWriter.for(options.logger ?? consoleLogger());
    process.on("message", this.onMessage);
    process.on("disconnect", this.onDisconnect);
    process.send({ hubwireBackplane: "hello", id: 0, batches: true } satisfies ToPrimary, undefined, {}, () => {}); // a failure shows in the first request
  }

  async publish(channel: string, payload: Uint8Array): Promise<number> {
    return this.request({ hubwireBackplane: "publish", id: 0, channel, payload });
  }

  async subscribe(channel: string, onMessage: (payload: Uint8Array) => void): Promise<void> {
    this.subscriptions.set(channel, { onMessage });
    await this.request({ hubwireBackplane: "subscribe", id: 0, channel });
  }

  /** What the primary relayed before it took the unsubscribe still reaches the handler. */
  async unsubscribe(channel: string): Promise<void> {
    const subscription = this.subscriptions.get(channel);
    try {
      await this.request({ hubwireBackplane: "unsubscribe", id: 0, channel });
    } finally {
      if (this.subscriptions.get(channel) === subscription) this.subscriptions.delete(channel);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.request({ hubwireBackplane: "close", id: 0 }).catch(() => {}); // a primary that is gone has forgotten this worker
    this.closed = true;
    process.off("message", this.onMessage);
    process.off("disconnect", this.onDisconnect);
    this.subscriptions.clear();
    this.failPending("The backplane is closed.");
  }

  /** Sends `message` to the primary with a fresh id; resolves with its answer, fails past requestTimeout. */
  private request(message: ToPrimary): Promise<number> {
    if (this.closed) return Promise.reject(new HubwireError("ERR_BACKPLANE_UNAVAILABLE", "The backplane is closed."));
    if (!process.connected) return Promise.reject(new HubwireError("ERR_BACKPLANE_UNAVAILABLE", "The cluster's primary is gone."));
    const id = ++this.nextId;
    message.id = id;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HubwireError("ERR_BACKPLANE_TIMEOUT", `The cluster's primary did not answer within ${this.requestTimeout} ms.`));
      }, this.requestTimeout);
      this.pending.set(id, { resolve, reject, timer });
      this.send(message);
    });
  }

  /** Sends a request at once, or, to a primary that takes batches, with the others of this turn. */
  private send(message: ToPrimary): void {
    if (!this.primaryTakesBatches) return this.write(message, [message]);
    if (this.outgoing) return void this.outgoing.push(message);
    this.outgoing = [message];
    setImmediate(() => this.flush());
  }

  private flush(): void {
    const messages = this.outgoing!;
    this.outgoing = undefined;
    this.write(messages.length === 1 ? messages[0]! : { hubwireBackplane: "batch", id: 0, messages }, messages);
  }

  /** Writes `message` to the primary; if the channel cannot take it, the `requests` it carries fail. */
  private write(message: ToPrimary, requests: ToPrimary[]): void {
    process.send!(message, undefined, {}, (error: Error | null) => {
      if (error) for (const request of requests) this.settle(request.id, error);
    });
  }

  private received(message: ToWorker): void {
    if (message.hubwireBackplane === "batch") for (const inner of message.messages) this.received(inner);
    else if (message.hubwireBackplane === "message") this.deliver(message.channel, message.payload);
    else if (message.hubwireBackplane === "done" && message.refused === "serialization") this.settle(message.id, forkedWithoutSetup());
    else if (message.hubwireBackplane === "done") this.settle(message.id, undefined, message.receivers);
    else if (message.hubwireBackplane === "welcome") this.primaryTakesBatches = message.batches === true;
  }

  /** A handler that throws costs only its message: this is the worker's IPC listener. */
  private deliver(channel: string, payload: Uint8Array): void {
    try {
      this.subscriptions.get(channel)?.onMessage(payload);
    } catch (error) {
      this.log.write(lifetimeLog.backplaneHandlerThrew, { channel, error });
    }
  }

  private settle(requestId: number, error: Error | undefined, receivers = 0): void {
    const pending = this.pending.get(requestId);
    if (!pending) return;
    this.pending.delete(requestId);
    clearTimeout(pending.timer);
    if (error instanceof HubwireError) pending.reject(error);
    else if (error) pending.reject(new HubwireError("ERR_BACKPLANE_UNAVAILABLE", `The cluster's primary could not be reached: ${error.message}`));
    else pending.resolve(receivers);
  }

  private failPending(why: string): void {
    for (const requestId of [...this.pending.keys()]) this.settle(requestId, new Error(why));
  }
}

/** The primary received a publish's bytes as something else: this worker's IPC channel serializes as JSON. */
function forkedWithoutSetup(): HubwireError {
  return new HubwireError(
    "ERR_CLUSTER_ROLE",
    "This worker was forked without the serialization a ClusterBackplane needs: the primary calls ClusterBackplane.setupPrimary() before cluster.fork().",
  );
}
