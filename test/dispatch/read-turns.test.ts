import { afterEach, describe, expect, it } from "vitest";
import { splitTurn, turnBytes, turnEnd } from "../../src/dispatch/read-turns.js";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { MessageType } from "../../src/protocol/messages.js";
import { messagePackHubProtocol } from "../../src/protocol/messagepack-protocol.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";
import { waitFor } from "../support/wait.js";

/** The numbers Count was called with, in the order its calls ran. */
const counted: number[] = [];

@HubClass()
class TurnsHub extends Hub<unknown> {
  @HubMethod("Count")
  count(n: number): void {
    counted.push(n);
  }

  /** How many calls of Count had run when this one did. */
  @HubMethod("Counted")
  counted(): number {
    return counted.length;
  }
}

const jsonCall = (n: number) => `{"type":1,"target":"Count","arguments":[${n}]}${RS}`;
const binaryCall = (n: number) => messagePackHubProtocol.writeMessage({ type: MessageType.Invocation, target: "Count", arguments: [n] }) as Uint8Array;
const range = (count: number) => Array.from({ length: count }, (_, i) => i + 1);

/** Until the server has run some of the flood's calls, but not all: it handles them in turns. */
async function someRun(): Promise<void> {
  while (counted.length === 0) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Once the server has run some of a flood's `calls`, `other` calls and is answered before most
 * of the rest ran; then all of them run, in order.
 */
async function answeredBetweenTurns(other: RawJsonClient, calls: number): Promise<void> {
  await someRun();
  other.send(`{"type":1,"invocationId":"1","target":"Counted","arguments":[]}${RS}`);
  await other.waitFor(() => other.messages().length === 1, "the other client's answer");
  // Without turns the whole message ran before the server read anything else.
  expect(other.messages()[0]!.result).toBeLessThan(calls / 2);
  await other.waitFor(() => counted.length === calls, "the flood's calls to run", 30_000);
  expect(counted).toEqual(range(calls));
}

describe("where a turn's part of a read ends", () => {
  it("ends text just past the first record that ends a turn's bytes or more in", () => {
    const record = `${"x".repeat(999)}${RS}`; // 1,000 characters
    const text = record.repeat(200);
    expect(turnEnd(text, 0, text.length)).toBe(Math.ceil(turnBytes / 1000) * 1000);
    expect(turnEnd(text, 5000, text.length)).toBe(5000 + Math.ceil(turnBytes / 1000) * 1000);
    expect(turnEnd(text, 0, turnBytes)).toBe(turnBytes); // small enough: all of it
    const one = `${"x".repeat(3 * turnBytes)}${RS}`;
    expect(turnEnd(one + record, 0, one.length + record.length)).toBe(one.length); // a record larger than a turn is a turn
    expect(turnEnd(one, 0, one.length)).toBe(one.length);
  });

  it("ends bytes after a whole record, and leaves records it cannot walk to the parse", () => {
    const records = range(10_000).map(binaryCall);
    const bytes = Buffer.concat(records);
    const cut = turnEnd(bytes, 0, bytes.length);
    expect(cut).toBeGreaterThanOrEqual(turnBytes);
    expect(cut).toBeLessThan(bytes.length);
    // A record boundary: the records before it add up to it.
    let sum = 0;
    let whole = 0;
    while (sum < cut) sum += records[whole++]!.length;
    expect(sum).toBe(cut);
    expect(messagePackHubProtocol.parseMessages(bytes.subarray(0, cut))).toHaveLength(whole);
    const malformed = new Uint8Array(2 * turnBytes).fill(0xff); // a length prefix that never ends
    expect(turnEnd(malformed, 0, malformed.length)).toBe(malformed.length);
  });
});

describe("a read's part for this turn, and the rest", () => {
  it("cuts ASCII text in place, other text into strings of its own (their bytes counted apart), bytes into views", () => {
    const ascii = range(3000).map(jsonCall).join("");
    const asciiBytes = Buffer.from(ascii);
    const inPlace = splitTurn(ascii, asciiBytes, undefined, undefined)!;
    const cut = turnEnd(ascii, 0, ascii.length);
    expect(inPlace).toEqual({ now: { data: ascii, utf8: asciiBytes, start: 0, end: cut }, rest: { data: ascii, utf8: asciiBytes, start: cut, end: ascii.length } });
    const text = range(3000).map((n) => `{"type":1,"target":"Count","arguments":[${n}],"note":"é"}${RS}`).join("");
    const own = splitTurn(text, Buffer.from(text), undefined, undefined)!;
    expect(own.now.utf8).toBeUndefined();
    expect(own.now.start).toBeUndefined();
    expect(`${own.now.data as string}${own.rest.data as string}`).toBe(text);
    const bytes = Buffer.concat(range(10_000).map(binaryCall));
    const views = splitTurn(bytes, undefined, undefined, undefined)!;
    expect((views.now.data as Uint8Array).buffer).toBe(bytes.buffer);
    expect(Buffer.concat([views.now.data as Uint8Array, views.rest.data as Uint8Array]).equals(bytes)).toBe(true);
    expect(splitTurn(jsonCall(1), Buffer.from(jsonCall(1)), undefined, undefined)).toBeUndefined();
  });
});

// A WebSocket message or a POST may hold a megabyte of messages (four by the options here):
// handled in one go, it held the event loop, and every other client, for all of them.
describe("a read of many messages is handled in turns with the other clients", () => {
  let server: HubServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    counted.length = 0;
  });

  async function start(): Promise<string> {
    counted.length = 0;
    server = new HubServer({ logger: silentLogger, maximumReceiveMessageSize: 1024 * 1024 });
    server.mapHub("/turns", TurnsHub);
    return `${(await server.listen()).url}/turns`;
  }

  it("answers another client's call between the turns of a JSON WebSocket message, and runs the message's calls in order", async () => {
    const url = await start();
    const flood = await RawJsonClient.open(url);
    const other = await RawJsonClient.open(url);
    const calls = 80_000; // 3.8 MB
    flood.send(range(calls).map(jsonCall).join(""));
    await answeredBetweenTurns(other, calls);
    // The client is read again once its message is handled.
    flood.send(jsonCall(calls + 1));
    await flood.waitFor(() => counted.length === calls + 1, "a call after");
    flood.terminate();
    other.terminate();
  }, 60_000);

  it("runs in order the calls of a message of text that is not ASCII, cut into strings of its own", async () => {
    const url = await start();
    const flood = await RawJsonClient.open(url);
    const calls = 20_000; // 1.1 MB
    flood.send(range(calls).map((n) => `{"type":1,"target":"Count","arguments":[${n}],"note":"é"}${RS}`).join(""));
    await flood.waitFor(() => counted.length === calls, "the calls to run", 30_000);
    expect(counted).toEqual(range(calls));
    flood.terminate();
  }, 60_000);

  it("does the same for a MessagePack WebSocket message", async () => {
    const url = await start();
    const flood = await RawJsonClient.open(url, { handshake: false });
    flood.send(`{"protocol":"messagepack","version":1}${RS}`);
    await flood.waitFor(() => flood.binaryFrames.length > 0, "the handshake reply");
    const other = await RawJsonClient.open(url);
    const calls = 150_000; // 3.3 MB
    flood.socket.send(Buffer.concat(range(calls).map(binaryCall)));
    await answeredBetweenTurns(other, calls);
    flood.terminate();
    other.terminate();
  }, 60_000);

  it("handles a long-polling POST in turns, and reads the next POST after it", async () => {
    const url = await start();
    const negotiate = (await (await fetch(`${url}/negotiate?negotiateVersion=1`, { method: "POST" })).json()) as { connectionToken: string };
    const at = `${url}?id=${negotiate.connectionToken}`;
    const post = (body: string) => fetch(at, { method: "POST", body, headers: { "Content-Type": "text/plain" } });
    expect((await fetch(at)).status).toBe(200); // the first poll makes the connection a long-polling one
    expect((await post(`{"protocol":"json","version":1}${RS}`)).status).toBe(200);
    const calls = 80_000;
    let ranBeforeSecond = 0;
    const second = someRun().then(() => {
      ranBeforeSecond = counted.length;
      return post(jsonCall(calls + 1));
    });
    const statuses = await Promise.all([post(range(calls).map(jsonCall).join("")), second].map(async (reply) => (await reply).status));
    expect(statuses).toEqual([200, 200]);
    expect(ranBeforeSecond).toBeLessThan(calls);
    await waitFor(() => counted.length === calls + 1, "the calls of both POSTs to run", 30_000);
    expect(counted).toEqual(range(calls + 1));
    await fetch(at, { method: "DELETE" });
  }, 60_000);
});
