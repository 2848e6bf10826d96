import { Buffer } from "node:buffer";
import type { ClientTransport, TransportEvents, TransportKind } from "../../client/transports/transport.js";
import { HubwireError } from "../errors.js";
import type { Transport, TransportName } from "../transports/transport.js";
import type { TransportConnection } from "../transports/transport-connection.js";

// Taken when this module loads: a test that installs fake timers afterwards (vi.useFakeTimers)
// must not stop its messages from arriving.
const deliverSoon = globalThis.setImmediate;

type Frame = string | Uint8Array;

/**
 * The two ends of one in-process connection: a server `Transport` on the hub's
 * `TransportConnection`, and a `ClientTransport` for hubwire's client. Frames go each way in
 * order, copied as a socket would copy them, and arrive in a later turn of the event loop, so
 * neither side is ever re-entered from inside its own write. Closing works as a WebSocket's does:
 * a graceful close from either side first delivers what was sent before it.
 */
export class InMemoryLink {
  /** The hub's end; set by `open` before the connection starts. */
  connection: TransportConnection | undefined;
  private events: TransportEvents | undefined;
  private toServer: Frame[] = [];
  private toClient: Frame[] = [];
  private toClientBytes = 0;
  private paused = false;
  private flushing = false;
  /** Set once either side has asked to close (with `error` when the hub's end dropped it). */
  private closing: { error?: Error | undefined } | undefined;
  private closed = false;
  private resolveStopped: (() => void) | undefined;
  private readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));

  constructor(
    readonly name: TransportName,
    /** Connects the hub's end: admission, then the hand-over to the hub stack. */
    private readonly open: (link: InMemoryLink) => Promise<void>,
  ) {}

  /** The client's end; `events` are the hubwire client's (or a recorder in front of them). */
  clientEnd(events: TransportEvents): ClientTransport {
    this.events = events;
    const link = this;
    return {
      kind: this.name as TransportKind,
      connect: () => link.open(link),
      send: async (data) => link.clientSend(data),
      stop: () => link.clientStop(),
    };
  }

  /** The hub's end, for `connection.transport`. */
  serverEnd(connection: TransportConnection): Transport {
    this.connection = connection;
    const link = this;
    return {
      name: this.name,
      get bufferedBytes() {
        return link.toClientBytes;
      },
      send: (data) => link.serverSend(data),
      close: () => link.beginClose(),
      abort: () => link.abort(),
      pause: () => {
        link.paused = true;
      },
      resume: () => {
        link.paused = false;
        link.schedule();
      },
    };
  }

  private clientSend(data: Frame): void {
    if (this.closing || this.closed) throw new HubwireError("ERR_CONNECTION_CLOSED", "The in-process connection is closed.");
    this.toServer.push(copy(data));
    this.schedule();
  }

  private serverSend(data: Frame): void {
    if (this.closing || this.closed) return;
    const frame = copy(data);
    this.toClient.push(frame);
    this.toClientBytes += typeof frame === "string" ? frame.length : frame.byteLength;
    this.schedule();
  }

  private clientStop(): Promise<void> {
    this.beginClose();
    return this.stopped;
  }

  private beginClose(): void {
    if (this.closing || this.closed) return;
    this.closing = {};
    this.schedule();
  }

  /** The hub's end drops the connection at once, as a terminated socket: nothing queued arrives. */
  private abort(): void {
    if (this.closed) return;
    this.toClient = [];
    this.toServer = [];
    this.toClientBytes = 0;
    this.closing = { error: new HubwireError("ERR_TRANSPORT_LOST", "The in-process connection was aborted.") };
    this.schedule();
  }

  private schedule(): void {
    if (this.flushing || this.closed) return;
    this.flushing = true;
    deliverSoon(() => this.flush());
  }

  private flush(): void {
    this.flushing = false;
    if (this.closed) return;
    this.deliverToServer();
    this.deliverToClient();
    // A close ends the link once this turn has delivered what came before it: a client that
    // closes is heard out (unless the hub had stopped reading), a hub's last words reach its client.
    if (this.closing) this.finishClose();
  }

  /** One read, as of a socket: its messages arrive between readStarted and readEnded. */
  private deliverToServer(): void {
    const connection = this.connection;
    if (!connection || this.toServer.length === 0 || this.paused) return;
    connection.readStarted();
    while (this.toServer.length > 0 && !this.paused && !connection.isClosed) {
      const frame = this.toServer.shift()!;
      if (typeof frame === "string") connection.receive(frame, Buffer.from(frame, "utf8"));
      else connection.receive(frame);
    }
    connection.readEnded();
    // Paused mid-read: the rest waits for resume(), which schedules the next read.
  }

  private deliverToClient(): void {
    if (this.toClient.length === 0) return;
    const frames = this.toClient;
    this.toClient = [];
    this.toClientBytes = 0;
    for (const frame of frames) this.events?.onData(frame);
    this.connection?.drained();
  }

  private finishClose(): void {
    const { error } = this.closing!;
    this.closed = true;
    this.toServer = [];
    this.toClient = [];
    this.connection?.transportClosed(error);
    this.events?.onClose(error);
    this.resolveStopped!();
  }
}

/** A socket carries bytes, not objects: what is sent may be reused by its sender at once. */
function copy(data: Frame): Frame {
  return typeof data === "string" ? data : data.slice();
}
