import { Subject } from "@microsoft/signalr";
import { getEventListeners } from "node:events";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { officialClients } from "../support/official-clients.js";
import WebSocket from "ws";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, UploadStream } from "../../src/index.js";
import { eventually, waitFor } from "../support/wait.js";

v8.setFlagsFromString("--expose_gc");
const gc = runInNewContext("gc") as () => void;
const RS = "\u001e";

let produced = 0;
/** Streams whose producer ran its finally block. */
const finished: string[] = [];

@HubClass()
class StreamingHub extends Hub {
  @HubMethod("Forever")
  async *forever(): AsyncGenerator<string> {
    yield "ready";
    // Then parks until cancelled, like a subscription that has nothing more to say.
    await new Promise<void>((resolve) => this.signal.addEventListener("abort", () => resolve(), { once: true }));
  }

  @HubMethod("Firehose")
  async *firehose(size: number): AsyncGenerator<string> {
    const item = "x".repeat(size);
    while (!this.signal.aborted) {
      produced++;
      yield item;
    }
  }

  /** Its second item is a BigInt, which JSON cannot write. */
  @HubMethod("Unwritable")
  async *unwritable(): AsyncGenerator<unknown> {
    try {
      yield 1;
      yield 10n;
      yield 3;
      await new Promise<void>(() => {}); // never ends by itself
    } finally {
      finished.push("Unwritable");
    }
  }

  @HubMethod("Ignore")
  ignore(@UploadStream() _items: AsyncIterable<string>): string {
    return "ignored"; // never reads: the stream is completed for it when the method returns
  }

  @HubMethod("SlowSum")
  async slowSum(@UploadStream() numbers: AsyncIterable<number>): Promise<number> {
    let sum = 0;
    for await (const n of numbers) {
      sum += n;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return sum;
  }

  @HubMethod("AbortListeners")
  abortListeners(): number {
    return getEventListeners(this.context.signal, "abort").length;
  }
}

describe("streams", () => {
  let server: HubServer | undefined;
  const { connect, stopAll } = officialClients();
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await stopAll();
    await server?.close();
  });

  async function start(options: ConstructorParameters<typeof HubServer>[0] = {}): Promise<string> {
    server = new HubServer({ logger: silentLogger, ...options });
    server.mapHub("/streams", StreamingHub);
    return `${(await server.listen()).url}/streams`;
  }


  function timers(): number {
    return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  }

  it("leaves nothing behind after 1000 cancelled streams", async () => {
    const client = await connect(await start());
    const baselineListeners = await client.invoke<number>("AbortListeners");
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const timersBefore = timers();
    for (let i = 0; i < 1000; i++) {
      let ready!: () => void;
      const started = new Promise<void>((resolve) => (ready = resolve));
      const subscription = client.stream("Forever").subscribe({ next: () => ready(), complete() {}, error() {} });
      await started; // the stream runs and waits on its signal
      subscription.dispose(); // sends CancelInvocation
    }
    // Streams end asynchronously after their cancel: wait for the last one to let go.
    await eventually(() => client.invoke("AbortListeners"), baselineListeners);
    gc();
    expect(timers()).toBeLessThanOrEqual(timersBefore);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(4 * 1024 * 1024);
  });

  it("fails a stream past maximumStreamsPerClient alone, and an ended stream frees its place", async () => {
    const client = await connect(await start({ maximumStreamsPerClient: 2 }));
    const baselineListeners = await client.invoke<number>("AbortListeners");
    /** Opens a Forever stream: its first item, or the error it ends with. */
    const open = () => {
      let subscription!: { dispose(): void };
      const first = new Promise<string>((resolve, reject) => {
        subscription = client.stream<string>("Forever").subscribe({ next: resolve, complete() {}, error: reject });
      });
      return { first, subscription };
    };
    const [a, b] = [open(), open()];
    expect(await Promise.all([a.first, b.first])).toEqual(["ready", "ready"]);
    await expect(open().first).rejects.toThrow(
      "An unexpected error occurred invoking 'Forever' on the server. HubException: A connection may have at most 2 server streams open (maximumStreamsPerClient).",
    );
    expect(await client.invoke<number>("AbortListeners")).toBeGreaterThan(baselineListeners); // the connection goes on
    a.subscription.dispose();
    await eventually(() => client.invoke("AbortListeners"), baselineListeners + 1); // a's stream has ended
    expect(await open().first).toBe("ready");
  });

  it("leaves nothing behind after 1000 abandoned uploads", async () => {
    const client = await connect(await start());
    const chunk = "y".repeat(10_000);
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1000; i++) {
      const subject = new Subject<string>();
      const result = client.invoke("Ignore", subject);
      subject.next(chunk); // arrives after the method has returned: dropped, not buffered
      subject.next(chunk);
      expect(await result).toBe("ignored");
    }
    // 20 MB of items were sent; none may be kept.
    gc();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(8 * 1024 * 1024);
    expect(await client.invoke("AbortListeners")).toBe(0);
  });

  it("makes a fast upload wait for a slow reader and still delivers every item", async () => {
    const client = await connect(await start({ streamBufferCapacity: 2 }));
    const subject = new Subject<number>();
    const result = client.invoke<number>("SlowSum", subject);
    for (let i = 1; i <= 200; i++) subject.next(i);
    subject.complete();
    expect(await result).toBe(20_100);
  });

  it("fails a stream whose item cannot be written, and stops its producer", async () => {
    const client = await connect(await start());
    finished.length = 0;
    const items: unknown[] = [];
    const failure = await new Promise<Error>((resolve) =>
      client.stream("Unwritable").subscribe({ next: (item) => void items.push(item), error: resolve, complete: () => resolve(new Error("completed")) }),
    );
    expect(items).toEqual([1]);
    expect(failure.message).toContain("An error occurred on the server while streaming results.");
    await waitFor(() => finished.includes("Unwritable"), "the producer's finally block");
  });

  it("does not buffer without bound for a client that stops reading a fast stream", async () => {
    const url = await start();
    const socket = new WebSocket(url.replace("http", "ws"));
    sockets.push(socket);
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const handshake = new Promise((resolve) => socket.once("message", resolve));
    socket.send(`{"protocol":"json","version":1}${RS}`);
    await handshake;
    produced = 0;
    socket.send(`{"type":4,"invocationId":"1","target":"Firehose","arguments":[1024]}${RS}`);
    (socket as unknown as { _socket: { pause(): void } })._socket.pause(); // stop reading
    await waitFor(() => produced > 0, "the stream to start");
    // The producer must come to a stop: kernel buffers plus the server's high-water mark, no more.
    // (A stop is no event: it shows as a count that no longer moves.)
    let last = -1;
    for (let i = 0; i < 100 && produced !== last; i++) {
      last = produced;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(produced).toBe(last);
    expect(produced).toBeGreaterThan(0);
    expect(produced).toBeLessThan(20_000); // 20 MB of 1 KB items would mean it never waited
    expect(server!.connectionCount).toBe(1); // paused, not dropped: it stayed under the send-buffer limit
  });
});
