import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubContext } from "../../src/index.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";

// hubwire writes WebSocket data frames itself (src/transports/websocket-frames.ts). These tests
// read them with real clients at every payload length where the header changes form
// (125 / 126 bytes, 65,535 / 65,536 bytes) and where a binary payload stops being copied (16 KiB).

interface SizeClient {
  text(value: string): void;
}

@HubClass()
class SizeHub extends Hub<SizeClient> {
  /** `count` copies of `unit`. */
  @HubMethod("Text")
  text(unit: string, count: number): string {
    return unit.repeat(count);
  }

  /** `length` bytes counting up from 0 (mod 256). */
  @HubMethod("Bytes")
  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, (_, i) => i & 0xff);
  }
}

/** `[from, to]` in steps of 1, around each length where the frame's layout changes. */
const around = (center: number, reach: number) => Array.from({ length: 2 * reach + 1 }, (_, i) => center - reach + i);

describe("WebSocket data frames", () => {
  let server: HubServer | undefined;
  let context: HubContext<SizeClient>;
  let url = "";
  const raws: RawJsonClient[] = [];
  const officials: HubConnection[] = [];
  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.terminate();
    await Promise.all(officials.splice(0).map((c) => c.stop()));
    await server?.close();
  });

  async function start(): Promise<void> {
    server = new HubServer({ logger: silentLogger });
    context = server.mapHub("/sizes", SizeHub);
    const { port } = await server.listen(0, "127.0.0.1");
    url = `http://127.0.0.1:${port}/sizes`;
  }

  async function official(messagePack: boolean): Promise<HubConnection> {
    const builder = new HubConnectionBuilder()
      .withUrl(url, { transport: HttpTransportType.WebSockets, skipNegotiation: true })
      .configureLogging(LogLevel.None);
    if (messagePack) builder.withHubProtocol(new MessagePackHubProtocol());
    const connection = builder.build();
    officials.push(connection);
    await connection.start();
    return connection;
  }

  it("sends text frames of exactly 0-130 and 65,500-65,570 bytes that a WebSocket client reads whole", async () => {
    await start();
    const client = await RawJsonClient.open(url);
    raws.push(client);
    const lengths = [...around(65, 65), ...around(65_535, 35)];
    for (const [i, frameLength] of lengths.entries()) {
      const id = String(i);
      const overhead = `{"type":3,"invocationId":"${id}","result":""}${RS}`.length;
      if (frameLength < overhead) continue;
      const received = client.frames.length;
      client.send(`{"type":1,"invocationId":"${id}","target":"Text","arguments":["a",${frameLength - overhead}]}${RS}`);
      await client.waitFor((frames) => frames.length > received, `the reply of ${frameLength} bytes`);
      const frame = client.frames[received]!;
      expect(Buffer.byteLength(frame)).toBe(frameLength);
      expect(JSON.parse(frame.slice(0, -1))).toEqual({ type: 3, invocationId: id, result: "a".repeat(frameLength - overhead) });
    }
  });

  it("encodes multi-byte text as UTF-8, with the header counting bytes, not characters", async () => {
    await start();
    const client = await official(false);
    for (const unit of ["é", "€", "😀"]) {
      for (const count of [1, 40, 63, 21_845, 21_846, 100_000]) {
        await expect(client.invoke("Text", unit, count)).resolves.toBe(unit.repeat(count));
      }
    }
  });

  it("sends binary frames across every header form and the copy limit (MessagePack)", async () => {
    await start();
    const client = await official(true);
    const lengths = [0, 1, ...around(120, 12), ...around(16_384, 12), ...around(65_530, 12), 1_000_000];
    for (const length of lengths) {
      const bytes = (await client.invoke("Bytes", length)) as Uint8Array;
      expect(bytes.byteLength).toBe(length);
      expect(bytes.every((value, i) => value === (i & 0xff))).toBe(true);
    }
  });

  it("hands one broadcast frame to every recipient, and the next broadcast a new one", async () => {
    await start();
    const clients = [await official(false), await official(false), await official(true)];
    const seen = clients.map(() => [] as string[]);
    clients.forEach((client, i) => client.on("text", (value: string) => seen[i]!.push(value)));
    const sent = ["first", "second", "ü".repeat(70_000), "first"];
    for (const value of sent) await context.clients.all.text(value);
    await expect.poll(() => seen.map((values) => values.length)).toEqual([4, 4, 4]);
    for (const values of seen) expect(values).toEqual(sent);
  });

  it("hands one binary broadcast frame to every MessagePack recipient, and the next broadcast a new one", async () => {
    await start();
    const clients = [await official(true), await official(true), await official(false), await official(true)];
    const seen = clients.map(() => [] as string[]);
    clients.forEach((client, i) => client.on("text", (value: string) => seen[i]!.push(value)));
    // Same lengths with other bytes, then on either side of the copy limit, then the first again;
    // a reply of the recipients' own between broadcasts.
    const sent = ["first", "frist", "a".repeat(16_370), "b".repeat(16_370), "c".repeat(16_400), "first"];
    for (const value of sent) {
      await context.clients.all.text(value);
      await expect(clients[0]!.invoke("Text", "r", value.length)).resolves.toBe("r".repeat(value.length));
    }
    await expect.poll(() => seen.map((values) => values.length)).toEqual(clients.map(() => sent.length));
    for (const values of seen) expect(values).toEqual(sent);
  });
});
