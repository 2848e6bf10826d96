import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { officialClients } from "../support/official-clients.js";
import { Hub, HubClass, HubMethod, HubServer, type LogFields, type Logger } from "../../src/index.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";
import { waitFor, within } from "../support/wait.js";

// A meter provider is the application's code, run inside socket listeners and the heartbeat's
// timer: one whose instruments throw must cost their recordings, never a call, a connection or
// the process.

const broken = (name: string) => () => {
  throw new Error(`instrument ${name} broke`);
};
const instrument = (name: string) => ({ add: broken(name), record: broken(name), addCallback() {} });
const throwingMeterProvider = {
  getMeter: () => ({
    createHistogram: instrument,
    createCounter: instrument,
    createUpDownCounter: instrument,
    createObservableGauge: instrument,
    createObservableCounter: instrument,
  }),
};

const disconnected: string[] = [];

@HubClass()
class MeteredHub extends Hub {
  @HubMethod("Echo")
  echo(text: string): string {
    return text;
  }

  override onDisconnected(): void {
    disconnected.push(this.context.connectionId);
  }
}

describe("a meter provider whose instruments throw", () => {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => void uncaught.push(error);
  const warnings: Array<{ message: string; fields?: LogFields }> = [];
  const logger: Logger = { debug() {}, info() {}, warn: (message, fields) => void warnings.push({ message, fields }), error() {} };
  let server: HubServer | undefined;
  const { connect, stopAll } = officialClients();
  const raw: RawJsonClient[] = [];

  // vitest reports an uncaught exception as an error of the whole run, pinned on whichever test
  // ran last: listened for here too, it fails this test, by name.
  beforeEach(() => void process.on("uncaughtException", onUncaught));
  afterEach(async () => {
    process.off("uncaughtException", onUncaught);
    for (const client of raw.splice(0)) client.terminate();
    await stopAll();
    await server?.close();
    server = undefined;
    uncaught.length = 0;
    warnings.length = 0;
    disconnected.length = 0;
  });


  it("costs only their recordings: calls, pings and closes go on, and the server closes", async () => {
    server = new HubServer({ logger, telemetry: { meterProvider: throwingMeterProvider } });
    server.mapHub("/metered", MeteredHub, { keepAliveInterval: 50 });
    const { url } = await server.listen(0, "127.0.0.1");

    const first = await connect(`${url}/metered`);
    const second = await connect(`${url}/metered`);
    expect(await first.invoke("Echo", "one")).toBe("one");

    // Pings are written from the heartbeat's timer, and counted as sent messages.
    const pinged = await RawJsonClient.open(`${url}/metered`);
    raw.push(pinged);
    await pinged.waitFor((frames) => frames.slice(1).join("").includes(`{"type":6}${RS}`), "a ping");

    const firstId = first.connectionId!;
    await first.stop();
    await waitFor(() => disconnected.includes(firstId), "the first client's onDisconnected");
    expect(await second.invoke("Echo", "two")).toBe("two");

    await within(server.close(), "server.close()");
    server = undefined;
    expect(uncaught).toEqual([]);

    // Each instrument that threw is logged once, whatever the number of its recordings.
    const threw = warnings.filter((w) => w.message.startsWith("A metric instrument threw")).map((w) => w.fields?.instrument);
    expect(threw).toEqual([...new Set(threw)]);
    expect(threw).toEqual(
      expect.arrayContaining([
        "signalr.server.active_connections",
        "signalr.server.connection.duration",
        "hubwire.server.messages.received",
        "hubwire.server.messages.sent",
        "hubwire.server.bytes.sent",
        "hubwire.server.invocation.duration",
      ]),
    );
  });
});
