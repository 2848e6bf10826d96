import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type ScaleOutSettings } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { startOwnRedis, type OwnRedis } from "../support/redis.js";
import { waitFor, within } from "../support/wait.js";

interface ChatClient {
  note(text: string): void;
  answer(question: string): Promise<string>;
}

@HubClass({ name: "ChatHub" })
class ChatHub extends Hub<ChatClient> {
  /** Asks a connection for a result; answers with the error code when it fails, for the test to see. */
  @HubMethod("Ask")
  async ask(connectionId: string): Promise<string> {
    try {
      return await this.clients.client(connectionId).invoke("answer", "still there?");
    } catch (error) {
      return `failed: ${(error as { code?: string }).code}`;
    }
  }

  @HubMethod("Note")
  note(connectionId: string, text: string): Promise<void> {
    return this.clients.client(connectionId).note(text);
  }
}

const nodeScript = fileURLToPath(new URL("../support/scale-out-node.mjs", import.meta.url));
// Short, so a dead server is noticed in about a second; the client result timeout is far longer.
const settings: ScaleOutSettings = { heartbeatInterval: 100, serverTimeout: 1_000 };

/** Server A in this process, server B in a child process that the test kills with SIGKILL. */
describe("presence: a server killed with SIGKILL is noticed", () => {
  let redis: OwnRedis;
  let serverA: HubServer;
  let child: ChildProcess | undefined;
  let clients: HubConnection[] = [];

  beforeEach(async () => {
    redis = await startOwnRedis();
  });
  afterEach(async () => {
    child?.kill("SIGKILL"); // a stopped process too
    await Promise.all(clients.map((c) => c.stop()));
    await serverA?.close();
    await redis.stop();
    clients = [];
  });

  async function startChild(): Promise<string> {
    child = spawn(process.execPath, [nodeScript], {
      env: { ...process.env, REDIS_URL: redis.url, SCALE_OUT: JSON.stringify(settings) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    return within(
      new Promise<string>((resolve) => {
        child!.stdout!.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(output);
          if (match) resolve(match[1]!);
        });
      }),
      "server B to listen",
      30_000,
    );
  }

  async function connect(url: string): Promise<HubConnection> {
    const connection = new HubConnectionBuilder()
      .withUrl(`${url}/chat`, { transport: HttpTransportType.WebSockets })
      .configureLogging(LogLevel.None)
      .build();
    await connection.start();
    clients.push(connection);
    return connection;
  }

  async function startServerA(): Promise<string> {
    serverA = new HubServer({
      logger: silentLogger,
      backplane: new RedisBackplane({ url: redis.url, logger: silentLogger }),
      scaleOut: settings,
      clientResultTimeout: 120_000,
    });
    serverA.mapHub("/chat", ChatHub);
    return (await serverA.listen()).url;
  }

  it("fails a client result asked of a frozen server (SIGSTOP) that Redis still counts as a subscriber", async () => {
    const urlA = await startServerA();
    const onB = await connect(await startChild());
    onB.on("answer", () => "here");
    const onA = await connect(urlA);
    // Server B subscribes to its client's channel just after telling the client it is connected.
    await waitFor(async () => (await onA.invoke("Ask", onB.connectionId)) === "here", "a client result from server B");

    // Frozen, its sockets stay open: Redis still delivers to it, and nothing ever comes back.
    child!.kill("SIGSTOP");
    expect(await within(onA.invoke("Ask", onB.connectionId), "the client result to fail", 15_000)).toBe("failed: ERR_SERVER_GONE");
  });

  it("fails a client result pending on it with ERR_SERVER_GONE, and counts sends to its connections as unreceived", async () => {
    const urlA = await startServerA();
    const urlB = await startChild();

    const onB = await connect(urlB);
    const notes: string[] = [];
    onB.on("note", (text: string) => notes.push(text));
    let asked!: () => void;
    const wasAsked = new Promise<void>((resolve) => (asked = resolve));
    onB.on("answer", () => {
      asked();
      return new Promise<string>(() => {}); // never answers: the result stays pending on server B
    });
    const onA = await connect(urlA);

    // While B lives, a send to its connection is received. The client is told it is connected
    // before server B subscribes to its channel (as with ASP.NET Core): sent until it arrives.
    await waitFor(() => {
      void onA.invoke("Note", onB.connectionId, "hello");
      return notes.includes("hello");
    }, "the note on server B");
    const stats = () => serverA.scaleOutStats(ChatHub)!;
    await waitFor(() => stats().waiting.messages === 0, "server A's outbox to empty");
    const unreceivedBefore = stats().unreceived;

    const result = onA.invoke("Ask", onB.connectionId);
    await within(wasAsked, "the client on server B to be asked");
    child!.kill("SIGKILL");
    // Noticed by the missing heartbeats, long before the 120 s client result timeout.
    expect(await within(result, "the pending client result to fail", 15_000)).toBe("failed: ERR_SERVER_GONE");

    // Its connection no longer exists anywhere, nor does one that never did: neither is delivered.
    await onA.invoke("Note", onB.connectionId, "anyone?");
    await onA.invoke("Note", "no-such-connection", "anyone?");
    await waitFor(() => stats().unreceived === unreceivedBefore + 2, () => `2 more unreceived sends, saw ${JSON.stringify(stats())}`);
  });
});
