import cluster, { type Worker } from "node:cluster";
import { isBackplaneMessage, type ToPrimary, type ToWorker } from "./cluster-messages.js";

/**
 * The primary's side of ClusterBackplane: the channels each worker subscribed, and every publish
 * relayed to the workers subscribed to its channel, in the order the primary reads them (each
 * IPC channel keeps its order, so a worker's messages reach another in the order it sent them).
 * A worker that exits, or whose backplane closes, is forgotten.
 */
export class ClusterRelay {
  private readonly subscribers = new Map<string, Set<Worker>>();
  private readonly channelsOf = new Map<Worker, Set<string>>();
  private readonly onMessage = (worker: Worker, message: unknown): void => {
    if (isBackplaneMessage<ToPrimary>(message)) this.handle(worker, message);
  };
  private readonly onExit = (worker: Worker): void => this.forget(worker);

  constructor() {
    cluster.on("message", this.onMessage);
    cluster.on("exit", this.onExit);
  }

  /** Stops relaying (the workers' publishes and subscriptions then wait, and fail in time). */
  stop(): void {
    cluster.off("message", this.onMessage);
    cluster.off("exit", this.onExit);
    this.subscribers.clear();
    this.channelsOf.clear();
  }

  private handle(worker: Worker, message: ToPrimary): void {
    let receivers = 0;
    switch (message.hubwireBackplane) {
      case "publish":
        // A worker forked before setupPrimary() sends JSON: its bytes arrive as an object of numbers.
        if (!(message.payload instanceof Uint8Array)) {
          if (worker.isConnected()) send(worker, { hubwireBackplane: "done", id: message.id, receivers: 0, refused: "serialization" });
          return;
        }
        for (const subscriber of this.subscribers.get(message.channel) ?? []) {
          if (!subscriber.isConnected()) continue;
          send(subscriber, { hubwireBackplane: "message", channel: message.channel, payload: message.payload });
          receivers++;
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
      default:
        return; // a kind of a newer hubwire: not answered, the worker's request fails in time
    }
    if (worker.isConnected()) send(worker, { hubwireBackplane: "done", id: message.id, receivers });
  }

  private forget(worker: Worker): void {
    for (const channel of this.channelsOf.get(worker) ?? []) this.remove(worker, channel);
    this.channelsOf.delete(worker);
  }

  private remove(worker: Worker, channel: string): void {
    const workers = this.subscribers.get(channel);
    if (!workers?.delete(worker) || workers.size > 0) return;
    this.subscribers.delete(channel);
  }
}

function send(worker: Worker, message: ToWorker): void {
  // A worker that disconnects meanwhile makes send throw or report an error: it is forgotten on its exit.
  try {
    worker.send(message, (error: Error | null) => void error);
  } catch {
    // as above
  }
}
