import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { HubConnection as HubwireConnection, silentLogger as quietClient } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { HubServer, silentLogger, type Logger } from "../../src/index.js";
import { TestHost } from "../../src/testing/index.js";
import { recordingLogger } from "../support/chat-servers.js";
import { userOfToken } from "../support/token-user.js";
import { waitFor } from "../support/wait.js";
import { OpenHub } from "./guarded-hub.js";

// maximumConnectionsPerUser: one user cannot take the connections a server holds for everyone.
// A connection past the bound fails its handshake; the user's others, and other users, go on.

const refusal = "Too many connections for this user.";


describe("maximumConnectionsPerUser", () => {
  let server: HubServer | undefined;
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
    await server?.close();
    server = undefined;
  });

  async function start(maximumConnectionsPerUser: number, logger: Logger = silentLogger): Promise<string> {
    server = new HubServer({ logger, closeTimeout: 200 });
    server.mapHub("/open", OpenHub, { authenticate: userOfToken, maximumConnectionsPerUser });
    server.mapHub("/other", OpenHub, { authenticate: userOfToken, maximumConnectionsPerUser });
    server.mapMultiplexer("/hubs");
    return (await server.listen()).url;
  }

  function official(url: string, user: string | undefined, transport = HttpTransportType.WebSockets): HubConnection {
    const options = user === undefined ? { transport } : { transport, accessTokenFactory: () => user };
    const client = new HubConnectionBuilder().withUrl(url, options).configureLogging(LogLevel.None).build();
    stops.push(() => client.stop());
    return client;
  }

  it("refuses a user's connection past the bound at its handshake, on every transport, while the others go on", async () => {
    const base = await start(2);
    const first = official(`${base}/open`, "ada");
    const second = official(`${base}/open`, "ada", HttpTransportType.LongPolling);
    await Promise.all([first.start(), second.start()]);

    await expect(official(`${base}/open`, "ada").start()).rejects.toThrow(refusal);
    // The official client over Server-Sent Events also leaves a handshake error unhandled: hubwire's client here.
    for (const transport of ["ServerSentEvents", "LongPolling"] as const) {
      const hubwire = new HubwireConnection(`${base}/open`, { transports: [transport], reconnect: false, accessTokenFactory: () => "ada", logger: quietClient });
      stops.push(() => hubwire.stop());
      await expect(hubwire.start()).rejects.toThrow(refusal);
    }

    expect(await first.invoke("Whoami")).toBe("ada");
    expect(await second.invoke("Whoami")).toBe("ada");
    // Another user, the same user on another hub, and anonymous connections are not counted against her.
    const bob = official(`${base}/open`, "bob");
    const adaElsewhere = official(`${base}/other`, "ada");
    const anonymous = [0, 1, 2].map(() => official(`${base}/open`, undefined));
    await Promise.all([bob, adaElsewhere, ...anonymous].map((client) => client.start()));
    expect(await bob.invoke("Whoami")).toBe("bob");

    // One of hers ends: a new one takes its place once the server has let it go.
    const firstId = first.connectionId;
    await first.stop();
    const sessions = server!.hubRuntimeAt("/open")!.sessions;
    await waitFor(() => ![...sessions.values()].some((session) => session.connection.connectionId === firstId), "the server to let her first connection go");
    const third = official(`${base}/open`, "ada");
    await third.start();
    expect(await third.invoke("Whoami")).toBe("ada");
  });

  it("lets exactly the bound through of a burst of a user's connections made at once, and logs the refusals once a period", async () => {
    const logger = recordingLogger();
    const base = await start(3, logger);
    const burst = Array.from({ length: 12 }, () => official(`${base}/open`, "ada"));
    const outcomes = await Promise.allSettled(burst.map((client) => client.start()));
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(3);
    for (const outcome of outcomes) if (outcome.status === "rejected") expect(String(outcome.reason)).toContain(refusal);
    await waitFor(() => server!.connectionCount === 3, "the refused connections to end");
    // The first refusal at once, the rest once a period (here, unless the machine is very slow: at the server's close).
    const refusals = () => logger.lines.filter((line) => line.message.includes("maximumConnectionsPerUser")).map((line) => line.fields!);
    expect(refusals()[0]).toEqual({ hub: "OpenHub", refused: 1, maximumConnectionsPerUser: 3 });
    await server!.close();
    expect(refusals().reduce((sum, fields) => sum + (fields.refused as number), 0)).toBe(9);
  });

  it("refuses a multiplexed connection's hub past the bound alone: its other hubs go on", async () => {
    const base = await start(1);
    await official(`${base}/open`, "ada").start();
    const hubs = new HubMultiplexer(`${base}/hubs`, { transports: ["WebSockets"], reconnect: false, accessTokenFactory: () => "ada", logger: quietClient });
    stops.push(() => hubs.stop());
    const open = hubs.hub("/open");
    const other = hubs.hub("/other");
    await other.start();
    await expect(open.start()).rejects.toThrow(refusal);
    expect(await other.invoke("Whoami")).toBe("ada");
  });

  it("counts in the test host as on the wire", async () => {
    const host = new TestHost({ logger: quietClient });
    stops.push(() => host.close());
    host.mapHub("/open", OpenHub, { maximumConnectionsPerUser: 1 });
    const ada = await host.connect(OpenHub, { user: { sub: "ada" } });
    await expect(host.connect(OpenHub, { user: { sub: "ada" } })).rejects.toThrow(refusal);
    await ada.stop();
    await host.connect(OpenHub, { user: { sub: "ada" } });
  });

  it("takes a positive integer or null", () => {
    const hubs = new HubServer({ logger: silentLogger });
    for (const bad of [0, -1, 1.5]) {
      expect(() => hubs.mapHub(`/bad${String(bad)}`, OpenHub, { maximumConnectionsPerUser: bad })).toThrow(/maximumConnectionsPerUser/);
    }
    hubs.mapHub("/none", OpenHub, { maximumConnectionsPerUser: null });
  });
});
