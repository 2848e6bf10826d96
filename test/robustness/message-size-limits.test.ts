import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { RawJsonClient, RS } from "./raw-client.js";
import { waitFor } from "../support/wait.js";

const KiB = 1024;
const MiB = 1024 * KiB;
/** The default maximumReceiveMessageSize; the transports take up to max(4 x it, 1 MiB) at once. */
const limit = 32 * KiB;

/** Why each connection ended, as its hub's onDisconnected saw it. */
const endings: string[] = [];

@HubClass()
class SizeHub extends Hub {
  override onDisconnected(error?: Error): void {
    endings.push(error ? `${error.name}: ${error.message}` : "clean");
  }

  @HubMethod("Echo")
  echo(text: string): number {
    return text.length;
  }
}

const setups: Array<[string, HttpTransportType, boolean]> = [
  ["WebSockets + JSON", HttpTransportType.WebSockets, false],
  ["WebSockets + MessagePack", HttpTransportType.WebSockets, true],
  ["Server-Sent Events + JSON", HttpTransportType.ServerSentEvents, false],
  ["long polling + JSON", HttpTransportType.LongPolling, false],
  ["long polling + MessagePack", HttpTransportType.LongPolling, true],
];

/** Over the message limit; under, at and past the transports' own limit (ws's maxPayload, the POST limit). */
const oversized: Array<[string, number]> = [
  ["32 KiB + 1 KiB", limit + KiB],
  ["1 MiB - 1 KiB", MiB - KiB],
  ["1 MiB + 1 KiB", MiB + KiB],
  ["5 MiB", 5 * MiB],
];

describe("a message over maximumReceiveMessageSize ends its connection the documented way, at any size", () => {
  let server: HubServer;
  let url: string;

  beforeAll(async () => {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/size", SizeHub);
    url = `${(await server.listen()).url}/size`;
  });
  afterAll(() => server.close());

  async function connect(transport: HttpTransportType, messagePack: boolean): Promise<{ connection: HubConnection; closed: Promise<Error | undefined> }> {
    const builder = new HubConnectionBuilder().withUrl(url, { transport }).configureLogging(LogLevel.None);
    if (messagePack) builder.withHubProtocol(new MessagePackHubProtocol());
    const connection = builder.build();
    const closed = new Promise<Error | undefined>((resolve) => connection.onclose(resolve));
    await connection.start();
    return { connection, closed };
  }

  describe.each(setups)("%s", (_name, transport, messagePack) => {
    it("answers a message just under the limit", async () => {
      const { connection } = await connect(transport, messagePack);
      expect(await connection.invoke("Echo", "x".repeat(limit - KiB))).toBe(limit - KiB);
      await connection.stop();
    });

    it.each(oversized)("closes with the server's error for %s", async (_size, bytes) => {
      const { connection, closed } = await connect(transport, messagePack);
      const before = endings.length;
      await expect(connection.invoke("Echo", "x".repeat(bytes))).rejects.toThrow();
      expect((await closed)?.message).toBe("Server returned an error on close: Connection closed with an error.");
      await waitFor(() => endings.length > before, "the server side of the close");
      expect(endings.at(-1)).toBe(
        `InvalidDataException: The maximum message size of ${limit}B was exceeded. The message size can be configured with the maximumReceiveMessageSize option.`,
      );
    });
  });

  it("cancels a handshake past ws's own limit, with the handshake's error", async () => {
    const client = await RawJsonClient.open(url, { handshake: false });
    client.send(`{"protocol":"json","version":1,"padding":"${"x".repeat(2 * MiB)}"}${RS}`);
    await client.waitFor((frames) => frames.length > 0, "the handshake reply");
    expect(client.frames[0]).toBe(`{"error":"Handshake was canceled."}${RS}`);
    await client.closed;
  });
});

