import { randomUUID } from "node:crypto";
import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection as OfficialConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubConnection, type TransportKind } from "../../client/index.js";
import { messagePack } from "../../client/msgpack.js";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, UploadStream } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { RS, send } from "../http-transports/http-client.js";
import { redisUrl } from "../support/redis.js";
import { startRoundRobinProxy, type ProxiedKind, type RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { inBandRefusal } from "../support/upgrade-refusal.js";
import { waitFor } from "../support/wait.js";

interface RelayClient {
  message(text: string): void;
}

@HubClass()
class RelayHub extends Hub<RelayClient> {
  @HubMethod("Echo")
  echo(text: string): string {
    return text;
  }

  @HubMethod("Broadcast")
  broadcast(text: string): Promise<void> {
    return this.clients.all.message(text);
  }

  @HubMethod("Transport")
  transport(): string {
    return this.context.transport;
  }

  @HubMethod("Counter")
  async *counter(count: number): AsyncGenerator<number> {
    for (let i = 0; i < count; i++) yield i;
  }

  @HubMethod("Concat")
  async concat(@UploadStream() parts: AsyncIterable<string>): Promise<string> {
    let text = "";
    for await (const part of parts) text += part;
    return text;
  }

  /** Characters sent with Add, by connection id. */
  static added = new Map<string, number>();

  @HubMethod("Add")
  add(text: string): void {
    RelayHub.added.set(this.context.connectionId, (RelayHub.added.get(this.context.connectionId) ?? 0) + text.length);
  }

  @HubMethod("Added")
  added(): number {
    return RelayHub.added.get(this.context.connectionId) ?? 0;
  }
}

@HubClass()
class SignedInHub extends Hub {
  @HubMethod("Whoami")
  whoami(): string | undefined {
    return this.context.userIdentifier;
  }
}

/** Lets SlowHub's Consume read its upload; a new gate for each test that uses it. */
let openConsume: () => void = () => {};
let consumeGate = Promise.resolve();

@HubClass()
class SlowHub extends Hub {
  /** Reads its upload only once the test opens the gate: meanwhile the upload's buffer is full. */
  @HubMethod("Consume")
  async consume(@UploadStream() items: AsyncIterable<string>): Promise<string> {
    await consumeGate;
    let text = "";
    for await (const item of items) text += item;
    return text;
  }
}

interface Setup {
  name: string;
  transport: TransportKind;
  messagePack: boolean;
}

// Server-Sent Events carry text only: negotiate offers them no binary format, so no MessagePack.
const setups: Setup[] = [
  { name: "WebSockets + JSON", transport: "WebSockets", messagePack: false },
  { name: "WebSockets + MessagePack", transport: "WebSockets", messagePack: true },
  { name: "Server-Sent Events + JSON", transport: "ServerSentEvents", messagePack: false },
  { name: "long polling + JSON", transport: "LongPolling", messagePack: false },
  { name: "long polling + MessagePack", transport: "LongPolling", messagePack: true },
];

/** Who sent a request: the bearer token is the user's name (these tests are about routing, not tokens). */
function userOf(_request: unknown, bearer: string | undefined): unknown {
  return bearer ? { sub: bearer } : null;
}

/** Three servers on one Redis behind a round-robin proxy: no request of a connection is pinned to a server. */
describe("no sticky sessions: three servers behind a round-robin proxy", () => {
  let servers: HubServer[];
  let urls: string[];
  let proxy: RoundRobinProxy;

  beforeAll(async () => {
    // A channel prefix of this run's own: other tests and runs may share the Redis.
    const channelPrefix = `no-sticky-${randomUUID()}`;
    servers = [0, 1, 2].map(() => new HubServer({ logger: silentLogger, backplane: new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }) }));
    for (const server of servers) {
      server.mapHub("/relay", RelayHub);
      server.mapHub("/signed-in", SignedInHub, { authenticate: userOf });
      server.mapHub("/refreshing", SignedInHub, { authenticate: userOf, authenticationRefresh: true });
      // One upload item fills a stream's buffer; an empty poll comes back after 300 ms.
      server.mapHub("/slow", SlowHub, { streamBufferCapacity: 1, pollTimeout: 300 });
    }
    urls = await Promise.all(servers.map(async (server) => (await server.listen()).url));
    proxy = await startRoundRobinProxy(urls);
  });

  afterAll(async () => {
    await proxy.close();
    await Promise.all(servers.map((server) => server.close()));
  });

  /** What reached each server while `run` ran. */
  async function served(run: () => Promise<void>): Promise<ProxiedKind[][]> {
    const before = proxy.seen.map((kinds) => kinds.length);
    await run();
    return proxy.seen.map((kinds, i) => kinds.slice(before[i]));
  }

  /** The servers (by index) that `kind` reached. */
  function serversThat(seen: ProxiedKind[][], kind: ProxiedKind): number[] {
    return seen.flatMap((kinds, i) => (kinds.includes(kind) ? [i] : []));
  }

  async function allConnectionsEnded(): Promise<void> {
    await waitFor(
      () => servers.every((server) => server.connectionCount === 0),
      () => `every connection to end (left: ${servers.map((server) => server.connectionCount).join(", ")})`,
    );
  }

  /** Where the requests went: the transports' follow-up requests must have reached every server. */
  function expectSpread(seen: ProxiedKind[][], transport: TransportKind): void {
    // Negotiated on one server, the transport started on another (clients start one at a time).
    const start: ProxiedKind = transport === "WebSockets" ? "upgrade" : "GET";
    expect(new Set([...serversThat(seen, "negotiate"), ...serversThat(seen, start)]).size).toBeGreaterThan(1);
    if (transport === "WebSockets") return;
    // Sends (and long polls) reached every server, not only the one that runs their connection.
    expect(serversThat(seen, "POST")).toEqual([0, 1, 2]);
    if (transport === "LongPolling") expect(serversThat(seen, "GET")).toEqual([0, 1, 2]);
  }

  describe.each(setups)("the official client over $name", (setup) => {
    function official(): OfficialConnection {
      const builder = new HubConnectionBuilder()
        .withUrl(`${proxy.url}/relay`, { transport: HttpTransportType[setup.transport], skipNegotiation: false })
        .configureLogging(LogLevel.None);
      return (setup.messagePack ? builder.withHubProtocol(new MessagePackHubProtocol()) : builder).build();
    }

    it("connects, invokes, receives sends and streams, and stops, whichever server each request reaches", async () => {
      const seen = await served(async () => {
        const clients = [official(), official(), official()];
        const received: string[][] = clients.map(() => []);
        clients.forEach((client, i) => client.on("message", (text: string) => void received[i]!.push(text)));
        for (const client of clients) await client.start(); // one at a time: negotiate and transport on two servers

        for (const client of clients) {
          expect(await client.invoke("Transport")).toBe(setup.transport);
          for (let i = 0; i < 6; i++) expect(await client.invoke("Echo", `echo ${i}`)).toBe(`echo ${i}`);
        }
        await clients[0]!.invoke("Broadcast", "to all");
        await waitFor(() => received.every((texts) => texts.includes("to all")), "the broadcast to reach every client");

        const items: number[] = [];
        await new Promise<void>((resolve, reject) =>
          clients[1]!.stream<number>("Counter", 20).subscribe({ next: (n) => items.push(n), complete: resolve, error: reject }),
        );
        expect(items).toEqual([...Array(20).keys()]);

        await Promise.all(clients.map((client) => client.stop()));
        expect(clients.map((client) => client.state)).toEqual(["Disconnected", "Disconnected", "Disconnected"]);
        expect(received).toEqual([["to all"], ["to all"], ["to all"]]);
      });
      expectSpread(seen, setup.transport);
      await allConnectionsEnded();
    });
  });

  // A POST is read whole up to 1 MiB here (max(4 x maximumReceiveMessageSize, 1 MiB)): larger,
  // it is forwarded in parts, each read once the connection's server has taken the one before.
  describe.each(setups.filter((setup) => setup.transport !== "WebSockets"))("the official client over $name, sends larger than a whole read", (setup) => {
    it("handles each send of a burst of one turn, 3 MiB in one POST, whichever server the POST reaches", async () => {
      const builder = new HubConnectionBuilder().withUrl(`${proxy.url}/relay`, { transport: HttpTransportType[setup.transport] }).configureLogging(LogLevel.None);
      const client = (setup.messagePack ? builder.withHubProtocol(new MessagePackHubProtocol()) : builder).build();
      let closed = false;
      client.onclose(() => (closed = true));
      const seen = await served(async () => {
        await client.start();
        // Three bursts: with three servers, at least one of their POSTs is forwarded.
        for (let burst = 1; burst <= 3; burst++) {
          const sends: Array<Promise<void>> = [];
          for (let i = 0; i < 3072; i++) sends.push(client.send("Add", "x".repeat(1024)));
          await Promise.all(sends);
          expect(await client.invoke("Added")).toBe(burst * 3 * 1024 * 1024);
        }
        expect(closed).toBe(false);
        await client.stop();
      });
      expect(serversThat(seen, "POST").length).toBeGreaterThan(1);
      await allConnectionsEnded();
    });
  });

  describe.each(setups)("hubwire's client over $name", (setup) => {
    it("connects, invokes, receives sends, streams both ways, and stops, whichever server each request reaches", async () => {
      const seen = await served(async () => {
        const client = new HubConnection(`${proxy.url}/relay`, {
          transports: [setup.transport],
          reconnect: false,
          ...(setup.messagePack ? { protocol: messagePack } : {}),
        });
        const received: string[] = [];
        client.on("message", (text: string) => void received.push(text));
        await client.start();
        try {
          expect(await client.invoke("Transport")).toBe(setup.transport);
          for (let i = 0; i < 6; i++) expect(await client.invoke("Echo", `echo ${i}`)).toBe(`echo ${i}`);
          await client.send("Broadcast", "pushed");
          await waitFor(() => received.includes("pushed"), "the send to come back");

          const items: number[] = [];
          for await (const n of client.stream<number>("Counter", 20)) items.push(n);
          expect(items).toEqual([...Array(20).keys()]);
          async function* parts(): AsyncGenerator<string> {
            yield "a";
            yield "b";
            yield "c";
          }
          expect(await client.invoke("Concat", parts())).toBe("abc");
        } finally {
          await client.stop();
        }
        expect(client.state).toBe("Disconnected");
      });
      expectSpread(seen, setup.transport);
      await allConnectionsEnded();
    });
  });

  describe("requests sent straight to each server", () => {
    const as = (user: string, more: Record<string, string> = {}) => ({ Authorization: `Bearer ${user}`, ...more });
    const text = { "Content-Type": "text/plain;charset=UTF-8" };

    it("authenticates a forwarded request on its connection's server, as that connection's user", async () => {
      const negotiated = await send(`${urls[0]}/signed-in/negotiate?negotiateVersion=1`, "POST", { headers: as("alice") });
      const { connectionToken } = JSON.parse(negotiated.text) as { connectionToken: string };
      const at = (server: number) => `${urls[server]}/signed-in?id=${connectionToken}`;

      expect((await send(at(1), "GET", { headers: as("alice") })).status).toBe(200); // starts on server 1
      // Server 2 forwards; server 1 refuses another user, as it would its own request.
      const stolen = await send(at(2), "POST", { body: `{"protocol":"json","version":1}${RS}`, headers: as("mallory", text) });
      expect([stolen.status, stolen.text]).toEqual([403, "The request is not authenticated as the connection's user."]);
      expect((await send(at(2), "POST", { body: `{"protocol":"json","version":1}${RS}`, headers: as("alice", text) })).status).toBe(200);
      expect((await send(at(0), "GET", { headers: as("alice") })).text).toBe(`{}${RS}`);
      expect((await send(at(0), "GET", { headers: as("mallory") })).status).toBe(403);

      const left = await send(at(0), "DELETE", { headers: as("alice") });
      expect(left.status).toBe(202);
      await allConnectionsEnded();
    });

    it("serves an authentication refresh on its connection's server, as that connection's user", async () => {
      const negotiated = await send(`${urls[0]}/refreshing/negotiate?negotiateVersion=1`, "POST", { headers: as("alice") });
      const { connectionToken } = JSON.parse(negotiated.text) as { connectionToken: string };
      expect((await send(`${urls[1]}/refreshing?id=${connectionToken}`, "GET", { headers: as("alice") })).status).toBe(200); // starts on server 1
      // Server 2, which does not hold it (it would answer 404 connection_not_found), forwards the
      // refresh; server 1 answers it (no token lifetime: these tokens have no end), and refuses
      // another user.
      const refresh = (user: string) => send(`${urls[2]}/refreshing/refresh`, "POST", { headers: as(user, { "X-SignalR-Connection-Token": connectionToken }) });
      const refreshed = await refresh("alice");
      expect([refreshed.status, refreshed.text]).toEqual([200, "{}"]);
      const stolen = await refresh("mallory");
      expect([stolen.status, (JSON.parse(stolen.text) as { error: string }).error]).toEqual([403, "user_changed"]);

      expect((await send(`${urls[0]}/refreshing?id=${connectionToken}`, "DELETE", { headers: as("alice") })).status).toBe(202);
      await allConnectionsEnded();
    });

    it("ends a connection whose forwarded send is too large, as its own server does", async () => {
      const negotiated = await send(`${urls[0]}/relay/negotiate?negotiateVersion=1`, "POST");
      const { connectionToken } = JSON.parse(negotiated.text) as { connectionToken: string };
      const at = (server: number) => `${urls[server]}/relay?id=${connectionToken}`;
      expect((await send(at(1), "GET")).status).toBe(200);
      expect((await send(at(2), "POST", { body: `{"protocol":"json","version":1}${RS}`, headers: text })).status).toBe(200);
      expect((await send(at(0), "GET")).text).toBe(`{}${RS}`);

      // A hub message over the endpoint's limit (1 MiB here), forwarded in parts: its server
      // refuses it once it holds more than the limit of it, as it refuses a local one.
      const tooLarge = await send(at(2), "POST", { body: "x".repeat(1024 * 1024 + 1), headers: text });
      expect(tooLarge.status).toBe(413);
      const close = await send(at(0), "GET");
      expect(JSON.parse(close.text.slice(0, -1))).toMatchObject({ type: 7 });
      expect((await send(at(2), "GET")).status).toBe(204);
      await allConnectionsEnded();
    });

    it("answers a forwarded send only once its connection's server has taken it (backpressure)", async () => {
      consumeGate = new Promise((resolve) => (openConsume = resolve));
      const negotiated = await send(`${urls[0]}/slow/negotiate?negotiateVersion=1`, "POST");
      const { connectionToken } = JSON.parse(negotiated.text) as { connectionToken: string };
      const at = (server: number) => `${urls[server]}/slow?id=${connectionToken}`;
      const post = (server: number, message: object) => send(at(server), "POST", { body: JSON.stringify(message) + RS, headers: text });
      expect((await send(at(1), "GET")).status).toBe(200); // runs on server 1 from now on
      expect((await send(at(2), "POST", { body: `{"protocol":"json","version":1}${RS}`, headers: text })).status).toBe(200);
      expect((await send(at(0), "GET")).text).toBe(`{}${RS}`);
      expect((await post(2, { type: 1, invocationId: "1", target: "Consume", arguments: [], streamIds: ["s"] })).status).toBe(200);
      expect((await post(2, { type: 2, invocationId: "s", item: "a" })).status).toBe(200); // the buffer is full now

      let answered = false;
      const second = post(0, { type: 2, invocationId: "s", item: "b" }).then((reply) => ((answered = true), reply.status));
      // A poll forwarded by the same server after the send: once it is back (empty, at the poll
      // timeout), the send has long reached server 1, which holds it unanswered.
      expect((await send(at(0), "GET")).text).toBe("");
      expect(answered).toBe(false);

      openConsume();
      expect(await second).toBe(200);
      expect((await post(2, { type: 3, invocationId: "s" })).status).toBe(200);
      let results = "";
      await waitFor(async () => (results += (await send(at(0), "GET")).text).includes(`"result":"ab"`), "the upload's result");
      expect((await send(at(2), "DELETE")).status).toBe(202);
      await allConnectionsEnded();
    });

    it("lets go of a forwarded poll whose client left, on its connection's server", async () => {
      const servingForOthers = (server: number) => servers[server]!["endpoints"].get("/relay")!.endpoint["router"]!.servingForOthers;
      const negotiated = await send(`${urls[0]}/relay/negotiate?negotiateVersion=1`, "POST");
      const { connectionToken } = JSON.parse(negotiated.text) as { connectionToken: string };
      const at = (server: number) => `${urls[server]}/relay?id=${connectionToken}`;
      expect((await send(at(1), "GET")).status).toBe(200); // runs on server 1 from now on
      expect((await send(at(1), "POST", { body: `{"protocol":"json","version":1}${RS}`, headers: text })).status).toBe(200);
      expect((await send(at(1), "GET")).text).toBe(`{}${RS}`);

      // A poll through server 2, held on server 1 for want of data, that its client gives up.
      const leaving = new AbortController();
      const poll = fetch(at(2), { signal: leaving.signal }).catch(() => "aborted");
      await waitFor(() => servingForOthers(1) === 1, "server 1 to hold the poll server 2 forwarded");
      leaving.abort();
      expect(await poll).toBe("aborted");
      await waitFor(() => servingForOthers(1) === 0, () => `server 1 to let go of the abandoned poll (${servingForOthers(1)} held)`);

      expect((await send(at(2), "DELETE")).status).toBe(202);
      await allConnectionsEnded();
      expect([0, 1, 2].map(servingForOthers)).toEqual([0, 0, 0]);
    });

    it("answers 404 for a connection no server holds", async () => {
      for (const method of ["GET", "POST", "DELETE"]) {
        expect(await send(`${urls[1]}/relay?id=nobody`, method).then((reply) => [reply.status, reply.text])).toEqual([404, "No Connection with that ID"]);
      }
      // A resuming client of hubwire's hears it in band, once every server has said so.
      expect(await inBandRefusal(`${urls[1]}/relay?id=nobody`)).toEqual({ code: 4404, reason: "No Connection with that ID", received: 0 });
    });
  });
});
