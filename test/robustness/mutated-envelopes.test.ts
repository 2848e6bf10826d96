import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer } from "../../src/index.js";
import { waitFor } from "../support/wait.js";
import { errorsKept } from "./fuzz-client.js";
import { mutatedEnvelope, pick, seededRandom } from "./mutations.js";
import { hubChannel, MuxFuzzClient, type MuxTransport, type Outcome } from "./mux-fuzz-client.js";
import { describeFrame } from "./wire-formats.js";

// Mutated frames on a multiplexed connection (docs/multiplexing.md), over a WebSocket and over
// long polling: the envelopes, the control messages and the hub messages inside them, broken as
// mutated-frames.test.ts breaks plain ones.
// After each frame the client calls Echo on its hub's channel: the call must be answered with
// its own value, or the hub must have ended (its Close error, then the channel's close), or the
// connection (an `error` control message, then the end of the socket).

const cases = Number(process.env.HUBWIRE_FUZZ_CASES ?? 300);
const seed = Number(process.env.HUBWIRE_FUZZ_SEED ?? 20261205);
const RS = "\u001e";

@HubClass()
class TargetHub extends Hub {
  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }
}

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

describe("mutated frames on a multiplexed connection cost at most that connection", () => {
  let server: HubServer | undefined;
  const sockets: MuxFuzzClient[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await server?.close();
  });

  const variants = (["WebSockets", "LongPolling"] as MuxTransport[]).flatMap((transport) =>
    [true, false].map((binary) => ({ binary, transport, name: `${binary ? "binary" : "text"} envelopes over ${transport}` })),
  );

  it.each(variants)("$name: every call after a broken frame is answered, or its hub or connection ended with an error", async ({ binary, transport }) => {
    const logger = errorsKept();
    server = new HubServer({ logger, enableDetailedErrors: true, maximumReceiveMessageSize: 4096 });
    server.mapHub("/target", TargetHub);
    server.mapMultiplexer("/hubs", { maximumHubsPerConnection: 4 });
    const url = (await server.listen()).url;
    const open = async () => {
      const socket = await MuxFuzzClient.open(url, binary, transport);
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
