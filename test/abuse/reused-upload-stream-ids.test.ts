import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, UploadStream } from "../../src/index.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";
import { waitFor } from "../support/wait.js";

// Upload calls run beside maximumParallelInvocationsPerClient; what bounds them is
// maximumUploadStreamsPerClient (10 by default). A client that names the same stream id in call
// after call, or ends each upload at once and starts the next, must not get past that bound.

const calls = 200;
const maxUploads = 10;

/** Upload calls running now, the most that ever ran at once, and the gate that holds them. */
const held = { running: 0, peak: 0, started: 0, release: () => {}, gate: Promise.resolve() };

@HubClass()
class HeldUploadHub extends Hub {
  @HubMethod("Upload")
  async upload(@UploadStream() _items: AsyncIterable<unknown>): Promise<string> {
    held.started++;
    held.peak = Math.max(held.peak, ++held.running);
    await held.gate;
    held.running--;
    return "done";
  }
}

const upload = (id: string) => `{"type":1,"invocationId":"${id}","target":"Upload","arguments":[],"streamIds":["s"]}${RS}`;
const endUpload = `{"type":3,"invocationId":"s"}${RS}`;
const inUse = "An unexpected error occurred invoking 'Upload' on the server. HubException: Stream ID 's' is already in use.";
const tooMany =
  "An unexpected error occurred invoking 'Upload' on the server. HubException: A connection may have at most 10 upload streams open (maximumUploadStreamsPerClient).";

describe("an upload stream id used again", () => {
  let server: HubServer | undefined;
  let client: RawJsonClient | undefined;
  beforeEach(() => {
    Object.assign(held, { running: 0, peak: 0, started: 0 });
    held.gate = new Promise<void>((resolve) => (held.release = resolve));
  });
  afterEach(async () => {
    held.release();
    client?.terminate();
    await server?.close();
  });

  async function open(): Promise<RawJsonClient> {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/uploads", HeldUploadHub);
    const { url } = await server.listen();
    client = await RawJsonClient.open(`${url}/uploads`);
    return client;
  }

  const errors = (client: RawJsonClient) => client.messages().filter((m) => m.type === 3 && m.error !== undefined);

  /** Waits until every one of the `calls` sent has either started or been answered with an error. */
  const settled = (client: RawJsonClient) =>
    waitFor(() => held.started + errors(client).length >= calls, () => `every call to start or fail; ${held.started} started`);

  it("fails each call naming a stream id that is still open, and leaves the stream to the call that has it", async () => {
    const client = await open();
    client.sendTogether(Array.from({ length: calls }, (_, i) => upload(String(i + 1))));
    await settled(client);

    expect(held.started).toBe(1);
    expect(errors(client)).toHaveLength(calls - 1);
    expect(new Set(errors(client).map((m) => m.error))).toEqual(new Set([inUse]));
    expect(errors(client).some((m) => m.invocationId === "1")).toBe(false);

    // The first call still has "s": the client ends it, and the call ends when let go.
    client.send(endUpload);
    held.release();
    expect(await client.completion("1")).toEqual({ type: 3, invocationId: "1", result: "done" });
  });

  it("counts an upload call against maximumUploadStreamsPerClient until it ends, though its client ended the stream", async () => {
    const client = await open();
    client.sendTogether(Array.from({ length: calls }, (_, i) => upload(String(i + 1)) + endUpload));
    await settled(client);

    expect(held.started).toBe(maxUploads);
    expect(held.peak).toBe(maxUploads);
    expect(errors(client)).toHaveLength(calls - maxUploads);
    expect(new Set(errors(client).map((m) => m.error))).toEqual(new Set([tooMany]));

    // Once the calls end, their streams count no more: the id can open a stream again.
    held.release();
    await client.waitFor(() => client.messages().filter((m) => m.result === "done").length === maxUploads, "the held calls to end");
    client.send(upload("again") + endUpload);
    expect(await client.completion("again")).toEqual({ type: 3, invocationId: "again", result: "done" });
  });
});
