import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";

/** Calls of Count the server has run. */
let counted = 0;

@HubClass()
class TurnsHub extends Hub<unknown> {
  @HubMethod("Count")
  count(): void {
    counted++;
  }

  /** How many calls of Count had run when this one did. */
  @HubMethod("Counted")
  counted(): number {
    return counted;
  }
}

// A client that sends faster than its messages are handled cannot hold the event loop: after
// each read that fills Node's 64 KB, its socket waits for the loop's next turn, after the
// other sockets ready now.
describe("a WebSocket that sends faster than it is handled takes turns with the others", () => {
  let server: HubServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("another client's call does not wait behind a flood's backlog", async () => {
    counted = 0;
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/turns", TurnsHub);
    const url = `${(await server.listen()).url}/turns`;
    const flood = await RawJsonClient.open(url);
    const other = await RawJsonClient.open(url);
    // 6.4 MB of sends without a result: 100 messages of 64 KB, 1,525 calls each.
    const call = `{"type":1,"target":"Count","arguments":[]}${RS}`;
    const frame = call.repeat(Math.ceil((64 * 1024) / call.length));
    const calls = (100 * frame.length) / call.length;
    // A first flood grows the kernel's buffers for the socket (loopback tunes them to the traffic).
    for (let i = 0; i < 100; i++) flood.send(frame);
    await flood.waitFor(() => counted === calls, "the first flood's calls to run", 30_000);
    counted = 0;
    for (let i = 0; i < 100; i++) flood.send(frame);
    other.send(`{"type":1,"invocationId":"1","target":"Counted","arguments":[]}${RS}`);
    await other.waitFor(() => other.messages().length === 1, "the other client's answer");
    // Without turns, Node reads a ready socket up to 32 times (2 MB: 47,275 calls had run here)
    // before it looks at the others; with them, the other client's call came first.
    expect(other.messages()[0]!.result).toBeLessThan(calls / 10);
    await flood.waitFor(() => counted === calls, "the flood's calls to run", 30_000);
    flood.terminate();
    other.terminate();
  }, 60_000);
});
