import { afterEach, describe, expect, it } from "vitest";
import { startInteropServer, type InteropServer } from "../../samples/interop-server/app.js";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, UploadStream } from "../../src/index.js";
import { waitFor } from "../support/wait.js";
import { RawJsonClient, RS } from "./raw-client.js";

const frame = (...messages: object[]) => messages.map((m) => JSON.stringify(m) + RS).join("");

let startedCalls = 0;
let cancelledCalls = 0;

@HubClass()
class WorkHub extends Hub {
  /** Runs until cancelled: hubwire lets a client cancel a plain invocation too. */
  @HubMethod("Work")
  async work(): Promise<string> {
    const { signal } = this;
    startedCalls++;
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    cancelledCalls++;
    return "stopped";
  }

  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }

  @HubMethod("Count")
  async count(@UploadStream() items: AsyncIterable<unknown>): Promise<number> {
    let n = 0;
    for await (const _ of items) n++;
    return n;
  }
}

/** The first `count` Completions a client received, in order. */
async function completions(client: RawJsonClient, count: number): Promise<Array<Record<string, unknown>>> {
  const all = () => client.messages().filter((m) => m.type === 3);
  await client.waitFor(() => all().length >= count, `${count} completions`);
  return all().slice(0, count);
}

describe("streams on the wire", () => {
  let fixture: InteropServer | undefined;
  let server: HubServer | undefined;
  const clients: RawJsonClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.terminate();
    await fixture?.close();
    await server?.close();
  });

  async function open(url: string): Promise<RawJsonClient> {
    const client = await RawJsonClient.open(url);
    clients.push(client);
    return client;
  }

  it("binds two upload streams in one call (UploadPair)", async () => {
    fixture = await startInteropServer(0, { logger: silentLogger });
    const client = await open(`${fixture.url}/interophub`);
    client.send(
      frame(
        { type: 1, invocationId: "3", target: "UploadPair", arguments: [], streamIds: ["1", "2"] },
        { type: 2, invocationId: "2", item: "x" },
        { type: 2, invocationId: "1", item: "a" },
        { type: 2, invocationId: "1", item: "b" },
        { type: 3, invocationId: "1" },
        { type: 2, invocationId: "2", item: "y" },
        { type: 3, invocationId: "2" },
      ),
    );
    expect(await client.completion("3")).toEqual({ type: 3, invocationId: "3", result: "ab|xy" });
  });

  it("fails a call that sends the wrong number of streams, with the spec's text", async () => {
    fixture = await startInteropServer(0, { logger: silentLogger });
    const client = await open(`${fixture.url}/interophub`);
    client.send(frame({ type: 1, invocationId: "2", target: "UploadSum", arguments: [], streamIds: ["0", "1"] }));
    expect(await client.completion("2")).toEqual({
      type: 3,
      invocationId: "2",
      error: "An unexpected error occurred invoking 'UploadSum' on the server. HubException: Client sent 2 stream(s), Hub method expects 1.",
    });
    // Items for the refused streams are dropped, and the connection goes on.
    client.send(frame({ type: 2, invocationId: "0", item: 1 }, { type: 1, invocationId: "9", target: "Add", arguments: [1, 2] }));
    expect(await client.completion("9")).toEqual({ type: 3, invocationId: "9", result: 3 });
  });

  it("refuses a stream invocation whose id is in use", async () => {
    fixture = await startInteropServer(0, { logger: silentLogger });
    const client = await open(`${fixture.url}/interophub`);
    client.send(frame({ type: 4, invocationId: "1", target: "Counter", arguments: [1000, 50] }));
    await client.next((m) => m.type === 2, "a first item");
    client.send(frame({ type: 4, invocationId: "1", target: "Counter", arguments: [1, 0] }));
    expect(await client.next((m) => m.type === 3, "the refusal")).toEqual({
      type: 3,
      invocationId: "1",
      error: "Invocation ID '1' is already in use.",
    });
  });

  it("cancels a running non-streaming invocation, and still completes it", async () => {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/work", WorkHub);
    const client = await open(`${(await server.listen()).url}/work`);
    startedCalls = cancelledCalls = 0;
    client.send(frame({ type: 1, invocationId: "1", target: "Work", arguments: [] }));
    await waitFor(() => startedCalls === 1, "Work to start");
    client.send(frame({ type: 5, invocationId: "1" }));
    expect(await client.completion("1")).toEqual({ type: 3, invocationId: "1", result: "stopped" });
    expect(cancelledCalls).toBe(1);
  });

  it("refuses an id that a running invocation holds, and frees it when the invocation ends", async () => {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/work", WorkHub);
    const client = await open(`${(await server.listen()).url}/work`);
    cancelledCalls = 0;
    client.send(
      frame(
        // A method that returns at once is over before the next message: its id is free again.
        { type: 1, invocationId: "1", target: "Echo", arguments: ["a"] },
        { type: 1, invocationId: "1", target: "Echo", arguments: ["b"] },
        { type: 1, invocationId: "2", target: "Work", arguments: [] },
        { type: 1, invocationId: "2", target: "Echo", arguments: ["c"] },
      ),
    );
    expect(await completions(client, 3)).toEqual([
      { type: 3, invocationId: "1", result: "a" },
      { type: 3, invocationId: "1", result: "b" },
      { type: 3, invocationId: "2", error: "Invocation ID '2' is already in use." },
    ]);
    client.send(frame({ type: 5, invocationId: "2" }));
    expect((await completions(client, 4))[3]).toEqual({ type: 3, invocationId: "2", result: "stopped" });
    client.send(frame({ type: 1, invocationId: "2", target: "Echo", arguments: ["d"] }));
    expect((await completions(client, 5))[4]).toEqual({ type: 3, invocationId: "2", result: "d" });
  });

  it("cancels an invocation still waiting for its turn, and refuses its id meanwhile", async () => {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/work", WorkHub); // one invocation at a time per client, the default
    const client = await open(`${(await server.listen()).url}/work`);
    cancelledCalls = 0;
    client.send(
      frame(
        { type: 1, invocationId: "1", target: "Work", arguments: [] },
        { type: 1, invocationId: "2", target: "Echo", arguments: ["queued"] },
        { type: 1, invocationId: "2", target: "Echo", arguments: ["twice"] },
        { type: 1, invocationId: "3", target: "Work", arguments: [] },
        { type: 5, invocationId: "3" },
      ),
    );
    expect(await completions(client, 1)).toEqual([{ type: 3, invocationId: "2", error: "Invocation ID '2' is already in use." }]);
    client.send(frame({ type: 5, invocationId: "1" }));
    expect((await completions(client, 4)).slice(1)).toEqual([
      { type: 3, invocationId: "1", result: "stopped" },
      { type: 3, invocationId: "2", result: "queued" },
      { type: 3, invocationId: "3", result: "stopped" },
    ]);
    expect(cancelledCalls).toBe(2);
  });

  it("delivers every item of an upload through a two-item buffer", async () => {
    server = new HubServer({ logger: silentLogger, streamBufferCapacity: 2 });
    server.mapHub("/work", WorkHub);
    const client = await open(`${(await server.listen()).url}/work`);
    const items = Array.from({ length: 50 }, (_, i) => ({ type: 2, invocationId: "s", item: i }));
    client.send(frame({ type: 1, invocationId: "1", target: "Count", arguments: [], streamIds: ["s"] }, ...items, { type: 3, invocationId: "s" }));
    expect(await client.completion("1")).toEqual({ type: 3, invocationId: "1", result: 50 });
  });
});
