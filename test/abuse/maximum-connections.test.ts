import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HubConnection as HubwireConnection, silentLogger } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { HubServer } from "../../src/index.js";
import { LogWriter } from "../../src/logger.js";
import { ConnectionLimit } from "../../src/transports/connection-limit.js";
import { send } from "../http-transports/http-client.js";
import { recordingLogger } from "../support/chat-servers.js";
import { waitFor } from "../support/wait.js";
import { OpenHub, upgradeOutcome } from "./guarded-hub.js";

// maximumConnections: a flood of connections is refused with 503 once the server holds its
// bound, across all its endpoints, and costs the clients it holds nothing.

const refusal = [503, "The server has reached its maximum number of connections."];

describe("maximumConnections", () => {
  let server: HubServer | undefined;
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
    await server?.close();
    server = undefined;
  });

  async function start(maximumConnections: number, logger = recordingLogger()): Promise<string> {
    server = new HubServer({ logger, closeTimeout: 200, maximumConnections });
    server.mapHub("/open", OpenHub);
    server.mapHub("/other", OpenHub);
    server.mapMultiplexer("/hubs");
    return (await server.listen()).url;
  }

  function official(url: string): HubConnection {
    const client = new HubConnectionBuilder().withUrl(url, HttpTransportType.WebSockets).configureLogging(LogLevel.None).build();
    stops.push(() => client.stop());
    return client;
  }

  function hubwire(url: string): HubwireConnection {
    const client = new HubwireConnection(url, { transports: ["LongPolling"], reconnect: false, logger: silentLogger });
    stops.push(() => client.stop());
    return client;
  }

  const negotiated = (url: string) => send(`${url}/negotiate?negotiateVersion=1`, "POST").then(({ status, text }) => [status, text]);

  it("answers a negotiate and a WebSocket that skips it 503 past the bound, across endpoints, while the connections held go on", async () => {
    const logger = recordingLogger();
    const base = await start(3, logger);
    const first = official(`${base}/open`);
    await first.start();
    const second = hubwire(`${base}/other`);
    await second.start();
    expect((await negotiated(`${base}/open`))[0]).toBe(200); // waits for its transport, and counts

    expect(await negotiated(`${base}/other`)).toEqual(refusal);
    expect(await upgradeOutcome(`${base}/open`)).toEqual(refusal);
    await expect(official(`${base}/open`).start()).rejects.toThrow(/503/);
    expect(server!.connectionCount).toBe(3);

    // Those held are served as before.
    expect(await first.invoke("Whoami")).toBeNull();
    expect(await second.invoke("Whoami")).toBeNull();
    // A flood logs its first refusal at once, the rest once a period (here: at the close).
    expect(logger.lines.filter((line) => line.message.includes("maximumConnections")).map((line) => line.fields)).toEqual([
      { refused: 1, maximumConnections: 3 },
    ]);

    // A connection that ends makes room for the next.
    await second.stop();
    await waitFor(() => server!.connectionCount === 2, "the long-polling connection to be forgotten");
    const third = official(`${base}/other`);
    await third.start();
    expect(await third.invoke("Whoami")).toBeNull();

    await server!.close();
    expect(logger.lines.filter((line) => line.message.includes("maximumConnections")).map((line) => line.fields)).toEqual([
      { refused: 1, maximumConnections: 3 },
      { refused: 2, maximumConnections: 3 },
    ]);
  });

  it("counts a multiplexed connection once, whatever hubs it has open", async () => {
    const base = await start(2);
    const hubs = new HubMultiplexer(`${base}/hubs`, { transports: ["WebSockets"], reconnect: false, logger: silentLogger });
    stops.push(() => hubs.stop());
    const open = hubs.hub("/open");
    const other = hubs.hub("/other");
    await open.start();
    await other.start();
    const plain = official(`${base}/open`);
    await plain.start();
    expect(server!.connectionCount).toBe(2);

    expect(await upgradeOutcome(`${base}/hubs`)).toEqual(refusal);
    expect(await negotiated(`${base}/hubs`)).toEqual(refusal);
    expect(await other.invoke("Whoami")).toBeNull();
  });

  it("takes a positive integer, or null for no bound", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, "10"]) {
      expect(() => new HubServer({ logger: silentLogger, maximumConnections: bad as number })).toThrow(/maximumConnections must be a positive integer or null/);
    }
    expect(() => new HubServer({ logger: silentLogger, maximumConnections: null })).not.toThrow();
  });
});

describe("ConnectionLimit's reports", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("logs a flood's first refusal at once, then what was refused once a period while refusals go on", () => {
    vi.useFakeTimers();
    const logger = recordingLogger();
    let held = 2;
    const limit = new ConnectionLimit(2, () => held, LogWriter.for(logger));
    const reported = () => logger.lines.map((line) => line.fields?.refused);

    for (let i = 0; i < 5; i++) expect(limit.admitsNew()).toBe(false);
    expect(reported()).toEqual([1]);
    vi.advanceTimersByTime(10_000);
    expect(reported()).toEqual([1, 4]);
    vi.advanceTimersByTime(10_000); // nothing refused in this period: nothing to say, and no timer left
    expect(reported()).toEqual([1, 4]);
    expect(vi.getTimerCount()).toBe(0);

    held = 1;
    expect(limit.admitsNew()).toBe(true);
    held = 2;
    expect(limit.admitsNew()).toBe(false);
    expect(reported()).toEqual([1, 4, 1]);
    limit.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
