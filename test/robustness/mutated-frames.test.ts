import { MessageType, type HubMessage } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer } from "../../src/index.js";
import { waitFor } from "../support/wait.js";
import { errorsKept, type FuzzClient, type Outcome } from "./fuzz-client.js";
import { FuzzHttp, type HttpTransport } from "./fuzz-http.js";
import { FuzzSocket } from "./fuzz-socket.js";
import { pick, seededRandom } from "./mutations.js";
import { describeFrame, holds, mutatedPostBody, statefulVariants, wireFormats, type WireFormat } from "./wire-formats.js";

// Broken input of every shape, made by mutating well-formed messages of every type, thrown at a
// live server over every transport: each broken frame must cost at most its own connection, with
// the protocol's Close error, and never a later call, another connection or the server. After
// each frame the client calls Echo; the call must be answered with its own value, or the
// connection must have been closed. The cases are seeded: a failure names the case, and the same seed makes it again.
// HUBWIRE_FUZZ_CASES and HUBWIRE_FUZZ_SEED run more cases, or others.

const cases = Number(process.env.HUBWIRE_FUZZ_CASES ?? 400);
const seed = Number(process.env.HUBWIRE_FUZZ_SEED ?? 20261205);

@HubClass()
class TargetHub extends Hub {
  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }

  @HubMethod("Add")
  add(a: number, b: number): number {
    return a + b;
  }

  /** A short server stream whatever the count asked for: a mutated count must not make a flood. */
  @HubMethod("Items")
  async *items(count: number): AsyncGenerator<number> {
    for (let i = 0; i < Math.min(Number(count) || 0, 5); i++) yield i;
  }
}

/** Well-formed messages of every type a client may send, and of some it may not. */
const seedMessages: HubMessage[] = [
  { type: MessageType.Invocation, invocationId: "1", target: "Echo", arguments: ["hello", 1, true, null, { a: [1, 2.5] }], headers: {} },
  { type: MessageType.Invocation, target: "Echo", arguments: [42], headers: {} },
  { type: MessageType.Invocation, invocationId: "2", target: "Add", arguments: [1, 2], headers: { trace: "x" } },
  { type: MessageType.Invocation, invocationId: "3", target: "Nope", arguments: [], headers: {} },
  { type: MessageType.StreamInvocation, invocationId: "4", target: "Items", arguments: [3], headers: {} },
  { type: MessageType.StreamInvocation, invocationId: "5", target: "Echo", arguments: ["x"], streamIds: ["6"], headers: {} },
  { type: MessageType.CancelInvocation, invocationId: "4", headers: {} },
  { type: MessageType.StreamItem, invocationId: "6", item: "item", headers: {} },
  { type: MessageType.Completion, invocationId: "6", headers: {} },
  { type: MessageType.Completion, invocationId: "7", result: 1, headers: {} },
  { type: MessageType.Completion, invocationId: "8", error: "failed", headers: {} },
  { type: MessageType.Ping },
  { type: MessageType.Close, error: "bye", allowReconnect: true },
  { type: MessageType.Ack, sequenceId: 1 },
  { type: MessageType.Sequence, sequenceId: 1 },
];

/** Long polling with both protocols, Server-Sent Events with JSON (they carry text only). */
const httpVariants: { format: WireFormat; transport: HttpTransport; name: string }[] = [
  ...wireFormats.map((format) => ({ format, transport: "LongPolling" as const, name: `${format.name} over long polling` })),
  { format: wireFormats[0]!, transport: "ServerSentEvents", name: "JSON over Server-Sent Events" },
];

describe("mutated frames cost at most their own connection", () => {
  let server: HubServer | undefined;
  const clients: FuzzClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.terminate();
    await server?.close();
  });

  /**
   * Throws `cases` mutated frames at a hub, each followed by an Echo, on connections that `connect`
   * opens (a new one after each that ended), beside a bystander; `stateful` turns stateful reconnect on.
   */
  async function throwMutations(
    format: WireFormat,
    connect: (url: string) => Promise<FuzzClient>,
    mutate: (frame: string | Uint8Array, random: (n: number) => number) => string | Uint8Array,
    stateful = false,
  ): Promise<void> {
    const logger = errorsKept();
    server = new HubServer({ logger, enableDetailedErrors: true, maximumReceiveMessageSize: 4096, maximumParallelInvocationsPerClient: 4 });
    server.mapHub("/target", TargetHub, { allowStatefulReconnects: stateful });
    const url = `${(await server.listen()).url}/target`;
    const open = async () => {
      const client = await connect(url);
      clients.push(client);
      return client;
    };
    const bystander = await open();
    const seeds = seedMessages.map(format.frame);
    const random = seededRandom(seed);
    const tally: Record<Outcome, number> = { answered: 0, "closed with an error": 0, "closed by the client": 0, "closed by the transport": 0 };
    let client = await open();

    for (let n = 0; n < cases; n++) {
      let frame = mutate(pick(random, seeds), random);
      // A well-formed Sequence rewinds a stateful connection: the Echo after it counts as sent
      // again and is rightly dropped. Every other frame may come.
      while (stateful && holds(frame, format.protocol, MessageType.Sequence)) frame = mutate(pick(random, seeds), random);
      const outcome = await client.costOf(frame, `probe ${n}`, `case ${n} (seed ${seed}): ${describeFrame(frame)}`);
      tally[outcome]++;
      if (outcome === "answered") continue;
      client.terminate(); // its sockets go now, not at the end: thousands of cases must not hold thousands of them
      client = await open();
    }

    // Both outcomes came often: a test whose frames were always answered, or always closed, would prove little.
    expect(tally.answered, JSON.stringify(tally)).toBeGreaterThan(cases / 10);
    expect(tally["closed with an error"], JSON.stringify(tally)).toBeGreaterThan(cases / 10);
    // The bystander never noticed, the server reported nothing unexpected, and no connection was left behind.
    await bystander.echo("bystander", "still here");
    await bystander.until(() => bystander.completion("bystander") !== undefined, () => "the bystander's answer");
    expect(bystander.completion("bystander")).toMatchObject({ result: "still here" });
    expect(logger.errors).toEqual([]);
    // Ended as a client ends it: a stateful connection whose socket merely dropped would wait for its client.
    await client.end();
    await waitFor(() => server!.connectionCount === 1, () => `the server to hold the bystander alone; it holds ${server!.connectionCount}`);
  }

  it.each(statefulVariants)("$name over WebSockets: every call after a broken frame is answered, or the connection closed with a Close error", ({ format, stateful }) =>
    throwMutations(format, (url) => FuzzSocket.open(url, format, stateful), format.mutate, stateful),
  );

  it.each(httpVariants)("$name: every call after a broken POST is answered, or the connection closed with a Close error", ({ format, transport }) =>
    throwMutations(format, (url) => FuzzHttp.open(url, format, transport), (frame, random) => mutatedPostBody(format, frame, random)),
  );
});
