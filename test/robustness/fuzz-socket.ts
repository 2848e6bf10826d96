import { JsonHubProtocol, MessageType, NullLogger, type HubMessage, type IHubProtocol } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { decode, encode } from "@msgpack/msgpack";
import WebSocket from "ws";
import type { Logger } from "../../src/index.js";
import { within } from "../support/wait.js";
import { lengthPrefixed, mutateBytes, mutateText, mutateValue, splitLengthPrefixed, type Random } from "./mutations.js";

// The hub protocols' frames as the official client writes and reads them, mutated
// (`wireFormats`, mutations.ts), and a client that throws them at a hub over a WebSocket and says
// what each cost (`FuzzSocket`): after each, it calls Echo and sees whether the call is answered or
// the connection ended, and how. The mutation tests and `npm run conformance:mutations` use them.

const RS = "\u001e";

/** A hub protocol's frames: written and read by the official client's protocol, mutated by hand. */
export interface WireFormat {
  name: string;
  protocol: IHubProtocol;
  frame(message: HubMessage): string | Uint8Array;
  mutate(frame: string | Uint8Array, random: Random): string | Uint8Array;
}

const json = new JsonHubProtocol();
const messagePack = new MessagePackHubProtocol();

export const wireFormats: WireFormat[] = [
  {
    name: "JSON",
    protocol: json,
    frame: (message) => json.writeMessage(message) as string,
    // The record separator stays at the end: a frame that ends without it waits for the rest,
    // which the Echo that follows would be taken for.
    mutate(frame, random) {
      const text = (frame as string).slice(0, -1);
      return (random(2) === 0 ? mutateText(text, random) : JSON.stringify(mutateValue(JSON.parse(text), random))) + RS;
    },
  },
  {
    name: "MessagePack",
    protocol: messagePack,
    frame: (message) => new Uint8Array(messagePack.writeMessage(message) as ArrayBuffer),
    // The length prefix is made for the mutated message, for the same reason.
    mutate(frame, random) {
      const message = splitLengthPrefixed(frame as Uint8Array)[0]!;
      return lengthPrefixed(random(2) === 0 ? mutateBytes(message, random) : encode(mutateValue(decode(message), random)));
    },
  },
];

/** Each protocol, with stateful reconnect off and on: the mutation tests' cases. */
export const statefulVariants = wireFormats.flatMap((format) =>
  [false, true].map((stateful) => ({ format, stateful, name: `${format.name}${stateful ? ", stateful" : ""}` })),
);

/**
 * What a broken frame cost: nothing (the Echo after it was answered), or the connection, ended by
 * the server with the protocol's Close error, or by the client's own Close message in the frame,
 * or by the WebSocket layer (text that is not UTF-8: close code 1007).
 */
export type Outcome = "answered" | "closed with an error" | "closed by the client" | "closed by the WebSocket";

/** A WebSocket that speaks a hub protocol, frames given by hand; the server's messages read by the official protocol. */
export class FuzzSocket {
  readonly received: HubMessage[] = [];
  handshakeAnswer: string | undefined;
  closeCode: number | undefined;
  /** Called on every message and at the close: see `until`. */
  private changed: () => void = () => {};

  private constructor(
    private readonly socket: WebSocket,
    private readonly format: WireFormat,
  ) {
    socket.on("message", (data: Buffer, isBinary) => {
      if (this.handshakeAnswer === undefined) this.handshakeAnswer = data.toString();
      else {
        const input = isBinary ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data.toString();
        this.received.push(...format.protocol.parseMessages(input as string & ArrayBuffer, NullLogger.instance));
      }
      this.changed();
    });
    socket.once("close", (code) => {
      this.closeCode = code;
      this.changed();
    });
  }

  /** Opens a socket to the hub at `url` and makes the handshake. */
  /**
   * Opens a socket to the hub at `url` and makes the handshake; `stateful`: negotiates stateful
   * reconnect first and makes the handshake of version 2, which turns it on.
   */
  static async open(url: string, format: WireFormat, stateful = false): Promise<FuzzSocket> {
    let socketUrl = url.replace(/^http/, "ws");
    if (stateful) {
      const negotiated = await fetch(`${url}/negotiate?negotiateVersion=1&useStatefulReconnect=true`, { method: "POST" });
      const { connectionToken } = (await negotiated.json()) as { connectionToken: string };
      socketUrl += `?id=${connectionToken}`;
    }
    const socket = new WebSocket(socketUrl);
    await within(new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject)), `a WebSocket to ${url}`);
    const client = new FuzzSocket(socket, format);
    socket.send(`{"protocol":"${format.protocol.name}","version":${stateful ? 2 : 1}}${RS}`);
    await client.until(() => client.handshakeAnswer !== undefined, () => "the handshake's answer");
    if (client.handshakeAnswer !== `{}${RS}`) throw new Error(`the handshake failed: ${client.handshakeAnswer}`);
    return client;
  }

  get closed(): boolean {
    return this.closeCode !== undefined;
  }

  send(frame: string | Uint8Array): void {
    this.socket.send(frame);
  }

  /** Calls Echo with `value` (a string, as every server's Echo takes) under `invocationId`. */
  echo(invocationId: string, value: string): void {
    this.send(this.format.frame({ type: MessageType.Invocation, invocationId, target: "Echo", arguments: [value], headers: {} }));
  }

  completion(invocationId: string): HubMessage | undefined {
    return this.received.find((m) => m.type === MessageType.Completion && m.invocationId === invocationId);
  }

  /** Waits until `condition` holds, checked whenever a message arrives or the socket closes. */
  until(condition: () => boolean, what: () => string, ms?: number): Promise<void> {
    if (condition()) return Promise.resolve();
    const held = new Promise<void>((resolve) => {
      this.changed = () => {
        if (!condition()) return;
        this.changed = () => {};
        resolve();
      };
    });
    return within(held, what(), ms);
  }

  /**
   * Sends `frame`, then an Echo of `probe`, and says what the frame cost once the Echo is answered
   * or the connection is over. An answer other than the probe's own value throws: a broken frame
   * must not change a later call.
   */
  async costOf(frame: string | Uint8Array, probe: string, what: string, ms?: number): Promise<Outcome> {
    this.send(frame);
    this.echo(probe, probe);
    await this.until(() => this.closed || this.completion(probe) !== undefined, () => `an answer or the end after ${what}`, ms);
    if (!this.closed) {
      const answer = this.completion(probe)!;
      if (answer.type !== MessageType.Completion || answer.result !== probe) throw new Error(`${what}: Echo answered ${JSON.stringify(answer)}`);
      return "answered";
    }
    const close = this.received.find((m) => m.type === MessageType.Close);
    if (typeof close?.error === "string") {
      if (!/^Connection closed with an error\. \w+: ./.test(close.error)) throw new Error(`${what}: closed with '${close.error}'`);
      return "closed with an error";
    }
    if (holds(frame, this.format.protocol, MessageType.Close)) return "closed by the client";
    if (this.closeCode === 1007) return "closed by the WebSocket";
    throw new Error(`${what}: closed (${this.closeCode}) without a Close error`);
  }

  /** Ends the connection as a client does: its Close message, then the socket's close. */
  end(): void {
    this.send(this.format.frame({ type: MessageType.Close }));
    this.socket.close(1000);
  }

  terminate(): void {
    this.socket.terminate();
  }
}

/**
 * Whether a frame holds a well-formed message of `type`, as the official client's protocol reads
 * it: a Close is the client's own way to end its connection; a Sequence rewinds a stateful link.
 */
export function holds(frame: string | Uint8Array, protocol: IHubProtocol, type: MessageType): boolean {
  try {
    const input = typeof frame === "string" ? frame : frame.slice().buffer;
    return protocol.parseMessages(input as string & ArrayBuffer, NullLogger.instance).some((m) => m.type === type);
  } catch {
    return false;
  }
}

/** A frame as a failure names it: its text, or its bytes in hex. */
export function describeFrame(frame: string | Uint8Array): string {
  return typeof frame === "string" ? JSON.stringify(frame) : Buffer.from(frame).toString("hex");
}

/** A logger that keeps what the server reports at `error`: an unexpected failure, never broken input. */
export function errorsKept(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const ignore = () => {};
  return { level: "error", debug: ignore, info: ignore, warn: ignore, error: (message, fields) => errors.push(`${message} ${JSON.stringify(fields)}`), errors };
}
