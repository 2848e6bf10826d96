import { MessageType, type HubMessage } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { HubConnection, silentLogger } from "../../client/index.js";
import type { TransportKind } from "../../client/transports/transport.js";
import { messagePack } from "../../client/msgpack.js";
import { describeFrame, holds, statefulVariants, wireFormats } from "../robustness/wire-formats.js";
import { pick, seededRandom } from "../robustness/mutations.js";
import { within } from "../support/wait.js";
import { brokenServer, type RawServer } from "./broken-server.js";

// hubwire's client against a server that sends broken frames: well-formed server messages of
// every type, mutated (test/robustness/mutations.ts), each sent just before the answer to the
// client's call, over every transport (broken-server.ts). Whatever a frame holds, the call settles (answered, or failed with the
// connection), a connection that ends tells its onClose why, and nothing escapes as an uncaught
// exception or unhandled rejection (vitest fails the run on either).

const cases = Number(process.env.HUBWIRE_FUZZ_CASES ?? 200);
const seed = Number(process.env.HUBWIRE_FUZZ_SEED ?? 20261205);

/** Well-formed messages of every type a server sends; `1` is the id of the client's call. */
const seedMessages: HubMessage[] = [
  { type: MessageType.Invocation, target: "notify", arguments: ["hello", 1, { a: [1] }], headers: {} },
  { type: MessageType.Invocation, target: "nobody", arguments: [], headers: {} },
  { type: MessageType.Invocation, invocationId: "s1", target: "ask", arguments: ["question"], headers: {} },
  { type: MessageType.StreamItem, invocationId: "1", item: "item", headers: {} },
  { type: MessageType.StreamItem, invocationId: "9", item: "item", headers: {} },
  { type: MessageType.Completion, invocationId: "1", error: "failed", headers: {} },
  { type: MessageType.Completion, invocationId: "9", result: 1, headers: {} },
  { type: MessageType.Ping },
  { type: MessageType.Close, error: "bye", allowReconnect: true },
  { type: MessageType.Ack, sequenceId: 1 },
  { type: MessageType.Sequence, sequenceId: 1 },
];

/** The transports' variants: WebSockets with stateful reconnect off and on, long polling, Server-Sent Events (text only). */
const variants = [
  ...statefulVariants.map((variant) => ({ ...variant, transport: "WebSockets" as TransportKind })),
  ...wireFormats.map((format) => ({ format, stateful: false, transport: "LongPolling" as TransportKind, name: `${format.name} over long polling` })),
  { format: wireFormats[0]!, stateful: false, transport: "ServerSentEvents" as TransportKind, name: "JSON over Server-Sent Events" },
];

describe("hubwire's client takes broken frames from a server without breaking", () => {
  const servers: RawServer[] = [];
  const clients: HubConnection[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
    for (const server of servers.splice(0)) server.close();
  });

  it.each(variants)("$name: every call settles, and a connection that ends says why", async ({ format, stateful, transport }) => {
    const random = seededRandom(seed);
    const seeds = seedMessages.map(format.frame);
    let sent: string | Uint8Array = "";
    const broken = () => {
      sent = format.mutate(pick(random, seeds), random);
      // A well-formed Sequence rewinds a stateful link: what follows it counts as sent again and
      // is dropped, the call's answer too, as the protocol asks. Every other frame may come.
      while (stateful && holds(sent, format.protocol, MessageType.Sequence)) sent = format.mutate(pick(random, seeds), random);
      return sent;
    };
    // Each call is answered with a broken frame, then its own answer.
    const server = await brokenServer(format, (message) =>
      message.type === MessageType.Invocation && message.invocationId !== undefined
        ? [broken(), format.frame({ type: MessageType.Completion, invocationId: message.invocationId, result: message.arguments[0], headers: {} })]
        : [],
    );
    servers.push(server);
    const { url, used } = server;
    const tally = { answered: 0, failed: 0 };
    const open = async () => {
      const client = new HubConnection(url, {
        transports: [transport],
        skipNegotiation: transport === "WebSockets" && !stateful,
        statefulReconnect: stateful,
        reconnect: false,
        logger: silentLogger,
        ...(format.name === "MessagePack" ? { protocol: messagePack } : {}),
      });
      client.on("notify", () => {});
      client.on("ask", () => "answer");
      clients.push(client);
      await client.start();
      const ended = new Promise<Error | undefined>((resolve) => client.onClose(resolve));
      return { client, ended };
    };
    let { client, ended } = await open();

    for (let n = 0; n < cases; n++) {
      const call = client.invoke("echo", n).then(
        () => "answered" as const,
        (error: unknown) => error,
      );
      const outcome = await within(call, `the call after case ${n} (seed ${seed}): ${describeFrame(sent)}`);
      if (outcome === "answered") {
        tally.answered++;
        continue;
      }
      // The call failed: with the connection (which tells onClose why), or alone (a Completion
      // with an error for its id, from the frame).
      expect(outcome, `case ${n}: ${describeFrame(sent)}`).toBeInstanceOf(Error);
      expect((outcome as { code?: unknown }).code, `case ${n}: ${String(outcome)}`).toMatch(/^ERR_/);
      tally.failed++;
      if (client.state === "Connected") continue;
      const why = await within(ended, `onClose after case ${n}`);
      if (why !== undefined) expect(why, `case ${n}: ${describeFrame(sent)}`).toBeInstanceOf(Error);
      ({ client, ended } = await open());
    }

    expect(tally.answered, JSON.stringify(tally)).toBeGreaterThan(cases / 10);
    expect(tally.failed, JSON.stringify(tally)).toBeGreaterThan(cases / 10);
    expect([...used]).toEqual([transport]);
  });
});
