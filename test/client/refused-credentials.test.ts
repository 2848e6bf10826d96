import type { IncomingMessage } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { HubConnection, silentLogger, type RetryEvent, type RetryPolicy, type TransportKind } from "../../client/index.js";
import { Authorize, Hub, HubClass, HubMethod, HubServer, silentLogger as silentServerLogger } from "../../src/index.js";
import { fixturePerTest } from "./fixture-per-test.js";

/** Retries every 10 ms for ten seconds: far more than a test waits, unless the client stops. */
const quickRetry: RetryPolicy = { nextDelay: (_attempt, elapsed) => (elapsed > 10_000 ? null : 10) };

describe("a refused token", () => {
  const fixture = fixturePerTest();

  /** Counts the requests for `path` (negotiates, upgrades) the server sees. */
  function countRequests(path: string): { count: number } {
    const seen = { count: 0 };
    const count = (request: IncomingMessage) => void (request.url?.toLowerCase().startsWith(path) && seen.count++);
    fixture.server.http.prependListener("request", count);
    fixture.server.http.prependListener("upgrade", count);
    return seen;
  }

  it.each([["WebSockets"], ["ServerSentEvents"], ["LongPolling"]] as Array<[TransportKind]>)(
    "at negotiate (%s): start() rejects at once with ERR_UNAUTHORIZED and statusCode 401, retrying nothing",
    async (transport) => {
      const requests = countRequests("/authorizedhub");
      const connection = fixture.track(new HubConnection(`${fixture.server.url}/authorizedhub`, { transports: [transport], reconnect: quickRetry, logger: silentLogger }));
      const retries: RetryEvent[] = [];
      connection.onRetrying((retry) => retries.push(retry));
      const error = await connection.start().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "ERR_UNAUTHORIZED", statusCode: 401 });
      expect((error as Error).message).toBe("Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'");
      expect(requests.count).toBe(1);
      expect(retries).toEqual([]);
      expect(connection.state).toBe("Disconnected");
    },
  );

  it("at a WebSocket upgrade without negotiate: the same, with the upgrade's status", async () => {
    const requests = countRequests("/authorizedhub");
    const connection = fixture.track(
      new HubConnection(`${fixture.server.url}/authorizedhub`, { transports: ["WebSockets"], skipNegotiation: true, reconnect: quickRetry, logger: silentLogger }),
    );
    const error = await connection.start().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_UNAUTHORIZED", statusCode: 401 });
    expect(requests.count).toBe(1);
  });
});

let allowed = true;

@Authorize()
@HubClass()
class MembersHub extends Hub {
  @HubMethod("Echo")
  echo(text: string): string {
    return text;
  }
}

async function startMembersServer(port = 0): Promise<{ server: HubServer; port: number }> {
  const server = new HubServer({ logger: silentServerLogger, closeTimeout: 500 });
  server.mapHub("/members", MembersHub, { authenticate: (_request, token) => (allowed && token === "valid" ? { sub: "member" } : null) });
  return { server, port: (await server.listen(port)).port };
}

describe("reconnecting", () => {
  let server: HubServer | undefined;
  afterEach(async () => {
    allowed = true;
    await server?.close();
    server = undefined;
  });

  it("stops at a refused token and reports it on onClose with statusCode", async () => {
    const started = await startMembersServer();
    server = started.server;
    const connection = new HubConnection(`http://127.0.0.1:${started.port}/members`, { accessTokenFactory: () => "valid", reconnect: quickRetry, logger: silentLogger });
    const closed = new Promise<Error | undefined>((resolve) => connection.onClose(resolve));
    const reconnecting = new Promise((resolve) => connection.onReconnecting(resolve));
    await connection.start();
    expect(await connection.invoke("Echo", "in")).toBe("in");

    allowed = false; // the token is no longer accepted (revoked, expired)
    await server.close(); // asks the client to come back
    await reconnecting;
    server = (await startMembersServer(started.port)).server;
    const error = await closed;
    expect(error).toMatchObject({ code: "ERR_UNAUTHORIZED", statusCode: 401 });
    expect(connection.state).toBe("Disconnected");
  });

  it("reports each failed attempt, then closes when the policy gives up", async () => {
    const started = await startMembersServer();
    server = started.server;
    const connection = new HubConnection(`http://127.0.0.1:${started.port}/members`, {
      accessTokenFactory: () => "valid",
      transports: ["WebSockets"],
      reconnect: { nextDelay: (attempt) => (attempt > 3 ? null : 10) },
      logger: silentLogger,
    });
    const attempts: number[] = [];
    connection.onRetrying(({ attempt, delayMs, error }) => {
      expect(delayMs).toBe(10);
      expect(error).toBeInstanceOf(Error);
      attempts.push(attempt);
    });
    const closed = new Promise<Error | undefined>((resolve) => connection.onClose(resolve));
    await connection.start();
    await server.close();
    server = undefined;
    expect(await closed).toBeInstanceOf(Error);
    expect(attempts).toEqual([1, 2]); // three reconnect attempts: after the first two, another followed
  });
});

describe("the first start() against a closed port", () => {
  it("retries per the policy and reports every attempt", async () => {
    const probe = await startMembersServer();
    await probe.server.close(); // a port nobody listens on
    const connection = new HubConnection(`http://127.0.0.1:${probe.port}/members`, {
      reconnect: { nextDelay: (attempt) => (attempt > 3 ? null : 10) },
      logger: silentLogger,
    });
    const retries: RetryEvent[] = [];
    connection.onRetrying((retry) => {
      expect(connection.state).toBe("Connecting");
      retries.push(retry);
    });
    const error = await connection.start().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_NEGOTIATE" });
    expect(retries.map((r) => [r.attempt, r.delayMs, r.error.message.startsWith("Failed to complete negotiation")])).toEqual([
      [1, 10, true],
      [2, 10, true],
      [3, 10, true],
    ]);
  });

  it("a page can follow: attempts keep coming until stop()", async () => {
    const probe = await startMembersServer();
    await probe.server.close();
    const connection = new HubConnection(`http://127.0.0.1:${probe.port}/members`, { reconnect: quickRetry, logger: silentLogger });
    const fifth = new Promise<void>((resolve) => connection.onRetrying(({ attempt }) => attempt === 5 && resolve()));
    const starting = connection.start();
    await fifth;
    await connection.stop();
    await expect(starting).rejects.toMatchObject({ code: "ERR_CANCELED" });
  });
});
