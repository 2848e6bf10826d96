import { JsonHubProtocol, MessageType, NullLogger, type HubMessage } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Hub, HubClass, HubMethod, HubServer } from "../../src/index.js";
import { readControl, readEnvelopes, writeBinaryEnvelope, writeTextEnvelope, type ControlMessage } from "../../src/protocol/multiplex-frames.js";
import { waitFor, within } from "../support/wait.js";
import { errorsKept } from "./fuzz-client.js";
import { describeFrame } from "./wire-formats.js";
import { mutatedEnvelope, pick, seededRandom } from "./mutations.js";

// Mutated frames on a multiplexed connection (docs/multiplexing.md): the envelopes, the control
// messages and the hub messages inside them, broken as mutated-frames.test.ts breaks plain ones.
// After each frame the client calls Echo on its hub's channel: the call must be answered with
// its own value, or the hub must have ended (its Close error, then the channel's close), or the
// connection (an `error` control message, then the end of the socket).

const cases = Number(process.env.HUBWIRE_FUZZ_CASES ?? 300);
const seed = Number(process.env.HUBWIRE_FUZZ_SEED ?? 20261205);
const RS = "\u001e";
const json = new JsonHubProtocol();

@HubClass()
class TargetHub extends Hub {
  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }
}

/** The hub's channel on every connection of the test. */
const hubChannel = 1;

/** Well-formed envelope payloads, by channel: hub messages on the hub's, control messages on 0. */
const seedEnvelopes: Array<[number, string]> = [
  [hubChannel, `{"type":1,"invocationId":"1","target":"Echo","arguments":["hello"]}${RS}`],
  [hubChannel, `{"type":1,"target":"Echo","arguments":[1]}${RS}`],
  [hubChannel, `{"type":4,"invocationId":"2","target":"Echo","arguments":[]}${RS}`],
  [hubChannel, `{"type":5,"invocationId":"2"}${RS}`],
  [hubChannel, `{"type":6}${RS}`],
  [0, ""],
  [0, JSON.stringify({ type: "open", channel: 2, path: "/target", format: "Text" })],
  [0, JSON.stringify({ type: "open", channel: 3, path: "/nowhere" })],
  [0, JSON.stringify({ type: "opened", channel: 2, connectionId: "x" })],
  [0, JSON.stringify({ type: "close", channel: hubChannel })],
];

/** What a frame cost: nothing, the hub (its channel closed), or the whole connection. */
type Outcome = "answered" | "hub closed" | "connection closed" | "closed by the client";

/** A multiplexed connection with one hub open on `hubChannel`, framed by hand. */
class MuxFuzzSocket {
  readonly controls: ControlMessage[] = [];
  readonly hubMessages: HubMessage[] = [];
  closed = false;
  private changed: () => void = () => {};

  private constructor(
    private readonly socket: WebSocket,
    readonly binary: boolean,
  ) {
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      readEnvelopes(isBinary ? new Uint8Array(data) : data.toString("utf8"), (channel, payload) => {
        const text = typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8");
        if (channel === 0) {
          const control = readControl(text);
          if (control) this.controls.push(control);
        } else if (channel === hubChannel && text !== `{}${RS}`) {
          this.hubMessages.push(...json.parseMessages(text, NullLogger.instance));
        }
      });
      this.changed();
    });
    socket.once("close", () => {
      this.closed = true;
      this.changed();
    });
  }

  static async open(url: string, binary: boolean): Promise<MuxFuzzSocket> {
    const format = binary ? "&transferFormat=Binary" : "";
    const negotiated = await fetch(`${url}/hubs/negotiate?negotiateVersion=1${format}`, { method: "POST" });
    const { connectionToken } = (await negotiated.json()) as { connectionToken: string };
    const socket = new WebSocket(`${url.replace("http", "ws")}/hubs?id=${connectionToken}${format}`);
    await within(new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject)), "the multiplexed socket");
    const client = new MuxFuzzSocket(socket, binary);
    client.send(client.envelope(0, JSON.stringify({ type: "open", channel: hubChannel, path: "/target", format: "Text" })));
    client.send(client.envelope(hubChannel, `{"protocol":"json","version":1}${RS}`));
    await client.until(() => client.controls.some((c) => c.type === "opened"), () => "the hub to open");
    return client;
  }

  envelope(channel: number, payload: string): string | Uint8Array {
    return this.binary ? writeBinaryEnvelope(channel, payload) : writeTextEnvelope(channel, payload);
  }

  send(frame: string | Uint8Array): void {
    this.socket.send(frame);
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
    this.send(frame);
    // A frame that closes the hub's channel leaves the Echo after it unread, as late data is.
    if (closesHub(frame)) return "closed by the client";
    this.send(this.envelope(hubChannel, `{"type":1,"invocationId":"${probe}","target":"Echo","arguments":["${probe}"]}${RS}`));
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
    this.socket.terminate();
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

describe("mutated frames on a multiplexed connection cost at most that connection", () => {
  let server: HubServer | undefined;
  const sockets: MuxFuzzSocket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await server?.close();
  });

  it.each([
    ["binary", true],
    ["text", false],
  ])("%s envelopes: every call after a broken frame is answered, or its hub or connection ended with an error", async (_name, binary) => {
    const logger = errorsKept();
    server = new HubServer({ logger, enableDetailedErrors: true, maximumReceiveMessageSize: 4096 });
    server.mapHub("/target", TargetHub);
    server.mapMultiplexer("/hubs", { maximumHubsPerConnection: 4 });
    const url = (await server.listen()).url;
    const open = async () => {
      const socket = await MuxFuzzSocket.open(url, binary);
      sockets.push(socket);
      return socket;
    };
    const bystander = await open();
    const random = seededRandom(seed);
    const tally: Record<Outcome, number> = { answered: 0, "hub closed": 0, "connection closed": 0, "closed by the client": 0 };
    let socket = await open();

    for (let n = 0; n < cases; n++) {
      const [channel, payload] = pick(random, seedEnvelopes);
      const frame = mutatedEnvelope(channel, payload, binary, random);
      const outcome = await socket.costOf(frame, `probe-${n}`, `case ${n} (seed ${seed}): ${describeFrame(frame)}`);
      tally[outcome]++;
      if (outcome === "answered") continue;
      socket.terminate();
      socket = await open();
    }

    // Each outcome came often: a test whose frames were always answered, or always fatal, would prove little.
    expect(tally.answered, JSON.stringify(tally)).toBeGreaterThan(cases / 10);
    expect(tally["hub closed"], JSON.stringify(tally)).toBeGreaterThan(cases / 20);
    expect(tally["connection closed"], JSON.stringify(tally)).toBeGreaterThan(cases / 10);
    // The bystander never noticed, the server reported nothing unexpected, and nothing was left behind.
    expect(await bystander.costOf(bystander.envelope(0, ""), "bystander", "the bystander's ping")).toBe("answered");
    expect(logger.errors).toEqual([]);
    socket.terminate();
    const sessions = server.hubRuntimeAt("/target")!.sessions;
    await waitFor(
      () => server!.connectionCount === 1 && sessions.size === 1,
      () => `the server to hold the bystander's connection and hub alone; it holds ${server!.connectionCount} and ${sessions.size}`,
    );
  });
});
