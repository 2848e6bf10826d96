import { randomUUID } from "node:crypto";
import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubServer, silentLogger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { redisUrl } from "../support/redis.js";
import { waitFor, within } from "../support/wait.js";

interface AskedClient {
  answer(question: string): Promise<string>;
}

@HubClass()
class AskHub extends Hub<AskedClient> {}

describe("requests to other servers when their server closes", () => {
  let servers: HubServer[] = [];
  let client: HubConnection | undefined;

  afterEach(async () => {
    await client?.stop();
    await Promise.all(servers.map((server) => server.close().catch(() => {})));
    servers = [];
  });

  it("fails a client result still waiting for another server's answer at once, with ERR_SERVER_CLOSED", async () => {
    const channelPrefix = `requests-at-close-${randomUUID()}`;
    servers = [0, 1].map(() => {
      const server = new HubServer({ logger: silentLogger, backplane: new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }) });
      server.mapHub("/ask", AskHub);
      return server;
    });
    const [, urlB] = await Promise.all(servers.map(async (server) => (await server.listen()).url));
    let asked = false;
    client = new HubConnectionBuilder().withUrl(`${urlB}/ask`, { transport: HttpTransportType.WebSockets }).configureLogging(LogLevel.None).build();
    // The client takes the question and never answers it.
    client.on("answer", () => {
      asked = true;
      return new Promise<string>(() => {});
    });
    await client.start();
    const id = client.connectionId!;

    // Server 0 asks the client that server 1 holds, with a timeout far longer than the test.
    const answer = servers[0]!.hubContext(AskHub).clients.client(id).withOptions({ timeout: 600_000 }).invoke("answer", "why?");
    const settled = answer.then(
      () => "answered",
      (error: { code?: string }) => error.code,
    );
    await waitFor(() => asked, "the client to be asked");
    await servers[0]!.close();
    expect(await within(settled, "the client result to fail", 5_000)).toBe("ERR_SERVER_CLOSED");
  });
});
