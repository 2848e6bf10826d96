import { afterEach, describe, expect, it } from "vitest";
import { silentLogger, type TransportKind } from "../../client/index.js";
import { messagePack } from "../../client/msgpack.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { Hub, HubClass, HubMethod, HubServer } from "../../src/index.js";
import { waitFor } from "../support/wait.js";

/** The numbers Note was sent, in the order they ran. */
const noted: number[] = [];

@HubClass()
class NotesHub extends Hub<unknown> {
  @HubMethod("Note")
  note(n: number): void {
    noted.push(n);
  }
}

// The multiplexer sends the envelopes of one turn together: a burst of sends in one turn larger
// than a server takes in one message (1 MiB by default) went as one, and the server ended the
// connection. It now goes in messages of a bounded size, in order.
describe.each([
  { transport: "WebSockets" as TransportKind, binary: false },
  { transport: "WebSockets" as TransportKind, binary: true },
  { transport: "LongPolling" as TransportKind, binary: false },
])("a burst of sends in one turn on a multiplexed connection ($transport, binary: $binary)", ({ transport, binary }) => {
  let server: HubServer | undefined;
  let hubs: HubMultiplexer | undefined;
  afterEach(async () => {
    await hubs?.stop();
    await server?.close();
    noted.length = 0;
  });

  it("arrives whole and in order, and the connection stays", async () => {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/notes", NotesHub);
    server.mapMultiplexer("/hubs");
    const { url } = await server.listen();
    hubs = new HubMultiplexer(`${url}/hubs`, { transports: [transport], reconnect: false, logger: silentLogger, ...(binary ? { protocol: messagePack } : {}) });
    const notes = hubs.hub("/notes");
    let closed = false;
    notes.onClose(() => (closed = true));
    await notes.start();
    const count = 100_000; // 1.7 MB (MessagePack) to 4 MB (JSON) of envelopes in one turn
    const sends = Array.from({ length: count }, (_, n) => notes.send("Note", n));
    await Promise.all(sends);
    await waitFor(() => noted.length === count || closed, "every send to run", 30_000);
    expect(closed).toBe(false);
    expect(noted).toEqual(Array.from({ length: count }, (_, n) => n));
  }, 60_000);
});
