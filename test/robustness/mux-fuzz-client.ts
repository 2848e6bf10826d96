import { JsonHubProtocol, MessageType, NullLogger, type HubMessage } from "@microsoft/signalr";
import { Agent } from "node:http";
import { expect } from "vitest";
import WebSocket from "ws";
import { readControl, readEnvelopes, writeBinaryEnvelope, writeTextEnvelope, type ControlMessage } from "../../src/protocol/multiplex-frames.js";
import { send } from "../http-transports/http-client.js";
import { within } from "../support/wait.js";
import { pollUntilEnded } from "./fuzz-http.js";

// A multiplexed connection (docs/multiplexing.md) with one hub open, framed by hand, over a
// WebSocket or long polling, that throws frames at the server and says what each cost: the
// mutated-envelopes test's client.

const RS = "\u001e";
const json = new JsonHubProtocol();

/** The hub's channel on every connection. */
export const hubChannel = 1;

/** What a frame cost: nothing, the hub (its channel closed), or the whole connection. */
export type Outcome = "answered" | "hub closed" | "connection closed" | "closed by the client";

export type MuxTransport = "WebSockets" | "LongPolling";

/** The physical connection's messages both ways; `send` resolves once the transport has taken one (a POST's answer). */
interface Link {
  send(frame: string | Uint8Array): Promise<void>;
  terminate(): void;
}

export class MuxFuzzClient {
  readonly controls: ControlMessage[] = [];
  readonly hubMessages: HubMessage[] = [];
  closed = false;
  private changed: () => void = () => {};
  private link!: Link;

  private constructor(readonly binary: boolean) {}

  /** Negotiates a multiplexed connection at `url`/hubs, opens `transport` and the hub /target on `hubChannel`. */
  static async open(url: string, binary: boolean, transport: MuxTransport): Promise<MuxFuzzClient> {
    const format = binary ? "&transferFormat=Binary" : "";
    const negotiated = await fetch(`${url}/hubs/negotiate?negotiateVersion=1${format}`, { method: "POST" });
    const { connectionToken } = (await negotiated.json()) as { connectionToken: string };
    const client = new MuxFuzzClient(binary);
    const connectionUrl = `${url}/hubs?id=${connectionToken}${format}`;
    client.link = transport === "WebSockets" ? await client.webSocket(connectionUrl) : await client.polling(connectionUrl);
    await client.send(client.envelope(0, JSON.stringify({ type: "open", channel: hubChannel, path: "/target", format: "Text" })));
    await client.send(client.envelope(hubChannel, `{"protocol":"json","version":1}${RS}`));
    await client.until(() => client.controls.some((c) => c.type === "opened"), () => "the hub to open");
    return client;
  }

  private async webSocket(url: string): Promise<Link> {
    const socket = new WebSocket(url.replace("http", "ws"));
    await within(new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject)), "the multiplexed socket");
    socket.on("message", (data: Buffer, isBinary: boolean) => this.receive(isBinary ? new Uint8Array(data) : data.toString("utf8")));
    socket.once("close", () => this.ended());
    return {
      send: (frame) => Promise.resolve(socket.send(frame)),
      terminate: () => socket.terminate(),
    };
  }

  /** Polls until the server ends the connection (204 or 404); sends are POSTs, one at a time. */
  private async polling(url: string): Promise<Link> {
    const agent = new Agent({ keepAlive: true });
    let dropped = false;
    await pollUntilEnded(url, agent, {
      body: (body) => this.receive(this.binary ? new Uint8Array(body) : body.toString("utf8")),
      ended: () => this.ended(),
      dropped: () => dropped,
    });
    const type = this.binary ? "application/octet-stream" : "text/plain;charset=UTF-8";
    return {
      async send(frame) {
        const reply = await send(url, "POST", { body: frame, headers: { "Content-Type": type }, agent });
        // A connection that has ended answers 404; the poll tells.
        if (reply.status !== 200 && reply.status !== 404) throw new Error(`a POST answered ${reply.status} ${reply.text}`);
      },
      // A DELETE ends the connection at once, as a client that stops does.
      terminate() {
        dropped = true;
        void send(url, "DELETE", { agent })
          .catch(() => undefined)
          .finally(() => agent.destroy());
      },
    };
  }

  private receive(data: string | Uint8Array): void {
    readEnvelopes(data, (channel, payload) => {
      const text = typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8");
      if (channel === 0) {
        const control = readControl(text);
        if (control) this.controls.push(control);
      } else if (channel === hubChannel && text !== `{}${RS}`) {
        this.hubMessages.push(...json.parseMessages(text, NullLogger.instance));
      }
    });
    this.changed();
  }

  private ended(): void {
    this.closed = true;
    this.changed();
  }

  envelope(channel: number, payload: string): string | Uint8Array {
    return this.binary ? writeBinaryEnvelope(channel, payload) : writeTextEnvelope(channel, payload);
  }

  send(frame: string | Uint8Array): Promise<void> {
    return within(this.link.send(frame), "the transport to take a frame");
  }

  until(condition: () => boolean, what: () => string): Promise<void> {
    if (condition()) return Promise.resolve();
    return within(
      new Promise<void>((resolve) => {
        this.changed = () => {
          if (!condition()) return;
          this.changed = () => {};
          resolve();
        };
      }),
      what(),
    );
  }

  private hubClosed(): boolean {
    return this.controls.some((c) => c.type === "close" && c.channel === hubChannel);
  }

  private answer(probe: string): HubMessage | undefined {
    return this.hubMessages.find((m) => m.type === MessageType.Completion && m.invocationId === probe);
  }

  /** Sends `frame`, then an Echo on the hub's channel, and says what the frame cost. */
  async costOf(frame: string | Uint8Array, probe: string, what: string): Promise<Outcome> {
    await this.send(frame);
    // A frame that closes the hub's channel leaves the Echo after it unread, as late data is.
    if (closesHub(frame)) return "closed by the client";
    await this.send(this.envelope(hubChannel, `{"type":1,"invocationId":"${probe}","target":"Echo","arguments":["${probe}"]}${RS}`));
    await this.until(() => this.closed || this.hubClosed() || this.answer(probe) !== undefined, () => `an answer or the end after ${what}`);
    const answer = this.answer(probe);
    if (answer) {
      expect(answer, what).toMatchObject({ result: probe });
      return "answered";
    }
    if (this.closed || !this.hubClosed()) {
      const error = this.controls.find((c) => c.type === "error");
      expect(error, `${what}: the connection ended without an error`).toMatchObject({ code: expect.stringMatching(/^ERR_/), message: expect.any(String) });
      return "connection closed";
    }
    // The hub's own end: its Close, with the protocol's error unless the frame held the client's Close.
    const close = this.hubMessages.find((m) => m.type === MessageType.Close);
    if (close?.error !== undefined) expect(close.error, what).toMatch(/^Connection closed with an error\. \w+: ./);
    return "hub closed";
  }

  terminate(): void {
    this.link.terminate();
  }
}

/** Whether a frame holds a well-formed `close` of the hub's channel. */
function closesHub(frame: string | Uint8Array): boolean {
  let found = false;
  try {
    readEnvelopes(typeof frame === "string" ? frame : new Uint8Array(frame), (channel, payload) => {
      if (channel !== 0) return;
      const control = readControl(typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8"));
      if (control?.type === "close" && control.channel === hubChannel) found = true;
    });
  } catch {
    // A malformed frame closes nothing before its fault.
  }
  return found;
}
