import { decode } from "@msgpack/msgpack";
import { MessageSplitter, renderMessage, type Protocol, type WireMessage } from "./framing.js";

// What a script reads from a connection, whatever the transport: hub messages, then its end.

export interface MessageEvent {
  kind: "message";
  line: string;
  /** The message's type and invocation id when it parses as a hub message. */
  type?: number;
  invocationId?: string;
}

export interface EndEvent {
  kind: "end";
  line: string;
}

export type ChannelEvent = MessageEvent | EndEvent;

/** A transport's receiving side: messages cut from what arrives, queued until the script reads them. */
export abstract class Channel {
  private readonly events: ChannelEvent[] = [];
  private waiting?: () => void;
  private splitter: MessageSplitter;
  ended = false;

  constructor(
    readonly protocol: Protocol | "raw",
    expectHandshake: boolean,
  ) {
    this.splitter = new MessageSplitter(protocol, expectHandshake);
  }

  /** Sends bytes or text as the transport sends them; resolves with transcript lines of its own (an HTTP status). */
  /** `fragmentSize`: over WebSockets, the message in fragments of that many bytes. */
  abstract send(data: string | Uint8Array, fragmentSize?: number): Promise<string[]>;

  /** Ends the connection from the client side. */
  abstract close(): Promise<void>;

  /** Drops the connection without a word (only WebSockets have something to drop). */
  drop(): void {
    throw new Error("only a WebSocket can be dropped");
  }

  /** Text for the line that opened it (status and headers), once open. */
  abstract readonly opened: Promise<string[]>;

  /** The next event, or undefined when none comes within `ms`. */
  async next(ms: number): Promise<ChannelEvent | undefined> {
    if (!this.events.length) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        timer = setTimeout(resolve, ms);
      });
      clearTimeout(timer);
      this.waiting = undefined;
    }
    return this.events.shift();
  }

  protected received(chunk: Uint8Array): void {
    for (const message of this.splitter.push(chunk)) this.push(describe(message));
  }

  protected end(line: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.splitter.rest.length) this.push({ kind: "message", line: `incomplete ${Buffer.from(this.splitter.rest).toString("hex")}` });
    this.push({ kind: "end", line });
  }

  private push(event: ChannelEvent): void {
    this.events.push(event);
    this.waiting?.();
  }
}

function describe(message: WireMessage): MessageEvent {
  const event: MessageEvent = { kind: "message", line: renderMessage(message) };
  try {
    if (message.kind === "text") {
      const parsed = JSON.parse(Buffer.from(message.bytes.subarray(0, -1)).toString("utf8")) as { type?: number; invocationId?: string };
      event.type = parsed.type;
      event.invocationId = parsed.invocationId;
    } else if (message.kind === "binary") {
      const prefix = message.bytes.findIndex((b) => !(b & 0x80)) + 1;
      const parsed = decode(message.bytes.subarray(prefix)) as unknown[];
      event.type = parsed[0] as number;
      // Invocation, StreamItem, Completion, StreamInvocation and CancelInvocation carry the id second.
      if (typeof parsed[2] === "string" && [1, 2, 3, 4, 5].includes(parsed[0] as number)) event.invocationId = parsed[2];
    }
  } catch {
    // Not a hub message: the line shows what it was.
  }
  return event;
}
