import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { negotiate, postText, RS, send } from "../http-transports/http-client.js";
import { waitFor } from "../support/wait.js";
import { RawJsonClient } from "../robustness/raw-client.js";

let started = 0;
let release: () => void = () => {};
let held = new Promise<void>((resolve) => (release = resolve));

@HubClass()
class QueueHub extends Hub<unknown> {
  /** Waits until the test releases it, then answers with its argument. */
  @HubMethod("Held")
  async held(value: number): Promise<number> {
    started++;
    await held;
    return value;
  }
}

const call = (id: number) => `{"type":1,"invocationId":"${id}","target":"Held","arguments":[${id}]}${RS}`;

describe("a full invocation queue pushes back, then reads on", () => {
  let server: HubServer | undefined;
  let hub = "";
  afterEach(async () => {
    release();
    await server?.close();
  });

  async function start(): Promise<void> {
    started = 0;
    held = new Promise<void>((resolve) => (release = resolve));
    server = new HubServer({ logger: silentLogger, maximumQueuedInvocationsPerClient: 4 });
    server.mapHub("/queue", QueueHub);
    hub = `${(await server.listen()).url}/queue`;
  }

  it("WebSockets: every call of a client that was paused completes, in order", async () => {
    await start();
    const client = await RawJsonClient.open(hub);
    for (let i = 0; i < 40; i++) client.send(call(i));
    await waitFor(() => started === 1, "the first call to run");
    release();
    await client.waitFor(() => client.messages().filter((m) => m.type === 3).length === 40, "every completion");
    expect(client.messages().filter((m) => m.type === 3).map((m) => m.result)).toEqual([...Array(40).keys()]);
    client.terminate();
  });

  it("long polling: a send to a paused connection is answered once its calls have run", async () => {
    await start();
    const token = await negotiate(hub);
    const at = `${hub}?id=${token}`;
    await send(at, "GET");
    await postText(at, `{"protocol":"json","version":1}${RS}`);
    // One running and four waiting: the queue is full, the connection stops taking data.
    expect((await postText(at, [0, 1, 2, 3, 4].map(call).join(""))).status).toBe(200);
    let answered = false;
    const next = postText(at, call(5)).then((reply) => ((answered = true), reply));
    await waitFor(() => started === 1, "the first call to run");
    expect(answered).toBe(false);
    release();
    expect((await next).status).toBe(200);
    let text = "";
    while ((text.match(/"type":3/g) ?? []).length < 6) text += (await send(at, "GET")).text;
    expect(text.split(RS).filter((r) => r.includes('"type":3')).map((r) => (JSON.parse(r) as { result: number }).result)).toEqual([0, 1, 2, 3, 4, 5]);
    await send(at, "DELETE");
  });
});
