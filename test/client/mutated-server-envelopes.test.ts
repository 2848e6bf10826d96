import { afterEach, describe, expect, it } from "vitest";
import { silentLogger, type HubConnection } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import type { TransportKind } from "../../client/transports/transport.js";
import { readControl, readEnvelopes, writeBinaryEnvelope, writeTextEnvelope } from "../../src/protocol/multiplex-frames.js";
import { describeFrame } from "../robustness/wire-formats.js";
import { mutatedEnvelope, pick, seededRandom } from "../robustness/mutations.js";
import { within } from "../support/wait.js";
import { rawServer, type RawServer } from "./broken-server.js";

// hubwire's multiplexer client against a server that sends broken envelopes: the server's
// control messages and a JSON hub's server messages in their envelopes, mutated whole or in their
// payload (test/robustness/mutations.ts), each sent just before the answer to the client's call.
// Whatever an envelope holds, the call settles (answered, or failed with a code), and nothing
// escapes as an uncaught exception or unhandled rejection (vitest fails the run on either). Over
// every transport.

const cases = Number(process.env.HUBWIRE_FUZZ_CASES ?? 200);
const seed = Number(process.env.HUBWIRE_FUZZ_SEED ?? 20261205);
const RS = "\u001e";

/** The hub's channel: the first a client opens. */
const hubChannel = 1;

/** Well-formed envelope payloads a server sends, by channel: hub messages on the hub's, control messages on 0. */
const seedEnvelopes: Array<[number, string]> = [
  [hubChannel, `{"type":1,"target":"notify","arguments":["hello"]}${RS}`],
  [hubChannel, `{"type":1,"invocationId":"s1","target":"ask","arguments":[]}${RS}`],
  [hubChannel, `{"type":2,"invocationId":"9","item":1}${RS}`],
  [hubChannel, `{"type":3,"invocationId":"9","result":1}${RS}`],
  [hubChannel, `{"type":6}${RS}`],
  [hubChannel, `{"type":7,"error":"bye"}${RS}`],
  [0, ""],
  [0, JSON.stringify({ type: "opened", channel: 2, connectionId: "x" })],
  [0, JSON.stringify({ type: "refused", channel: 2, code: "ERR_MUX_UNKNOWN_HUB", message: "no", statusCode: 404 })],
  [0, JSON.stringify({ type: "close", channel: hubChannel })],
  [0, JSON.stringify({ type: "error", code: "ERR_MUX_MALFORMED_FRAME", message: "bad" })],
];

/**
 * A multiplexing server by hand (on broken-server.ts's transports): it opens every hub the client
 * asks for, answers its handshake, then each call with `broken()` and the call's answer.
 */
function brokenMultiplexer(broken: (binary: boolean) => string | Uint8Array): Promise<RawServer> {
  return rawServer(
    (send) => (data) => {
      const binary = typeof data !== "string";
      const envelope = (channel: number, text: string) => (binary ? writeBinaryEnvelope(channel, text) : writeTextEnvelope(channel, text));
      readEnvelopes(data, (channel, payload) => {
        const text = typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8");
        if (channel === 0) {
          const control = readControl(text);
          if (control?.type === "open") send(envelope(0, JSON.stringify({ type: "opened", channel: control.channel, connectionId: `hub-${control.channel}` })));
          return;
        }
        for (const record of text.split(RS).filter((r) => r.length > 0)) {
          const message = JSON.parse(record) as { protocol?: string; type?: number; invocationId?: string; arguments?: unknown[] };
          if (message.protocol !== undefined) send(envelope(channel, `{}${RS}`));
          else if (message.type === 1 && message.invocationId !== undefined) {
            send(broken(binary));
            send(envelope(channel, `${JSON.stringify({ type: 3, invocationId: message.invocationId, result: message.arguments?.[0] })}${RS}`));
          }
        }
      });
    },
    "/hubs",
  );
}

describe("hubwire's multiplexer client takes broken envelopes from a server without breaking", () => {
  const servers: RawServer[] = [];
  const multiplexers: HubMultiplexer[] = [];
  afterEach(async () => {
    await Promise.all(multiplexers.splice(0).map((hubs) => hubs.stop()));
    for (const server of servers.splice(0)) server.close();
  });

  it.each(["WebSockets", "LongPolling", "ServerSentEvents"] as TransportKind[])("over %s: every call settles, answered or failed with an error code", async (transport) => {
    const random = seededRandom(seed);
    let sent: string | Uint8Array = "";
    const server = await brokenMultiplexer((binary) => {
      const [channel, payload] = pick(random, seedEnvelopes);
      return (sent = mutatedEnvelope(channel, payload, binary, random));
    });
    servers.push(server);
    const { url, used } = server;
    const open = async (): Promise<HubConnection> => {
      const hubs = new HubMultiplexer(url, { transports: [transport], reconnect: false, logger: silentLogger });
      multiplexers.push(hubs);
      const hub = hubs.hub("/target");
      hub.on("notify", () => {});
      hub.on("ask", () => "answer");
      await hub.start();
      return hub;
    };
    const tally = { answered: 0, failed: 0 };
    let hub = await open();

    for (let n = 0; n < cases; n++) {
      const outcome = await within(
        hub.invoke("echo", n).then(
          () => "answered" as const,
          (error: unknown) => error,
        ),
        `the call after case ${n} (seed ${seed}): ${describeFrame(sent)}`,
      );
      if (outcome === "answered") {
        tally.answered++;
        continue;
      }
      expect((outcome as { code?: unknown }).code, `case ${n}: ${String(outcome)} after ${describeFrame(sent)}`).toMatch(/^ERR_/);
      tally.failed++;
      if (hub.state === "Connected") continue;
      await multiplexers.pop()!.stop();
      hub = await open();
    }

    expect(tally.answered, JSON.stringify(tally)).toBeGreaterThan(cases / 10);
    expect(tally.failed, JSON.stringify(tally)).toBeGreaterThan(cases / 10);
    expect([...used]).toEqual([transport]);
  });
});
