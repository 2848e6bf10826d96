import { afterEach, describe, expect, it } from "vitest";
import { HubClientError, HubConnection, silentLogger, type HubConnectionOptions } from "../../client/index.js";
import type { HubOptions, HubServer } from "../../src/index.js";
import { endGuardedTest, freshAdminTokens, OpenHub, renewingTokens, startGuardedServer, startOpenServer, token } from "../abuse/guarded-hub.js";
import { reach, waitFor } from "../support/wait.js";

describe("hubwire's client: authentication refresh", () => {
  let server: HubServer | undefined;
  let client: HubConnection | undefined;
  afterEach(async () => {
    await endGuardedTest(client, server);
    client = server = undefined;
  });

  async function start(hubOptions: HubOptions = { authenticationRefresh: true }): Promise<string> {
    let url: string;
    ({ server, url } = await startGuardedServer({}, hubOptions));
    return url;
  }

  function connect(url: string, options: HubConnectionOptions): HubConnection {
    return (client = new HubConnection(url, { logger: silentLogger, reconnect: false, ...options }));
  }

  it.each(["WebSockets", "ServerSentEvents"] as const)("keeps a %s connection past its first token's expiry by refreshing before it, as negotiate said", async (transport) => {
    const url = await start();
    // The token lasts 6 s (negotiate says 5, in whole seconds), less than twice the 3 s before
    // its end the client refreshes: so it refreshes halfway, after 2.5 s, and again after each
    // refresh; 3.5 s to spare on a loaded machine. The server would close the connection at 6 s.
    const { made, next } = freshAdminTokens(6_000);
    const connection = connect(url, { transports: [transport], accessTokenFactory: next, authenticationRefresh: { refreshBeforeExpiryMs: 3_000 } });
    const lifetimes: Array<number | undefined> = [];
    connection.onAuthenticationRefreshed((seconds) => lifetimes.push(seconds));
    const closed: Array<Error | undefined> = [];
    connection.onClose((error) => closed.push(error));
    await connection.start();
    const firstExpiresAt = made.lastExpiresAt;
    await reach(firstExpiresAt + 500);
    expect(closed).toEqual([]);
    expect(connection.state).toBe("Connected");
    // @Authorize with the admin policy: the connection's user is a fresh token's, not expired.
    expect(await connection.invoke("Restart")).toBe("restarted");
    expect(lifetimes.length).toBeGreaterThan(0);
    expect(lifetimes.every((seconds) => seconds !== undefined && seconds >= 4 && seconds <= 6)).toBe(true);
  }, 30_000);

  it("is closed by the server at its token's expiry without it: the refresh is what keeps the connection", async () => {
    const url = await start();
    const { made, next } = freshAdminTokens(2_000);
    const connection = connect(url, { transports: ["WebSockets"], accessTokenFactory: next });
    const closed = new Promise<Error | undefined>((resolve) => connection.onClose(resolve));
    await connection.start();
    const error = await closed;
    expect(Date.now()).toBeGreaterThanOrEqual(made.lastExpiresAt - 50);
    expect(error).toBeUndefined(); // the server asks it to come back, which it does not do with reconnect off
  });

  it("without it, comes back by itself on a new connection with a fresh token when the server closes one at its token's end", async () => {
    const url = await start();
    const { made, next } = freshAdminTokens(2_000);
    const connection = connect(url, { transports: ["WebSockets"], accessTokenFactory: next, reconnect: { nextDelay: (attempt) => (attempt <= 3 ? 0 : null) } });
    const reconnected = new Promise<string | null>((resolve) => connection.onReconnected(resolve));
    await connection.start();
    const before = connection.connectionId;
    const firstExpiresAt = made.lastExpiresAt;
    const after = await reconnected;
    expect(Date.now()).toBeGreaterThanOrEqual(firstExpiresAt - 50);
    expect(after).not.toBe(before);
    expect(await connection.invoke("Restart")).toBe("restarted");
  });

  it("refreshes when asked, with the option off, and reports the new token's lifetime", async () => {
    const url = await start();
    const { made, next } = freshAdminTokens(60_000);
    const connection = connect(url, { transports: ["LongPolling"], accessTokenFactory: next });
    const reported: Array<number | undefined> = [];
    connection.onAuthenticationRefreshed((seconds) => reported.push(seconds));
    await connection.start();
    const before = made.count;
    const lifetime = await connection.refreshAuthentication();
    expect([59, 60]).toContain(lifetime);
    expect(reported).toEqual([lifetime]);
    expect(made.count).toBe(before + 1); // the refresh asked the factory for a fresh token
    expect(await connection.invoke("Restart")).toBe("restarted");
  });

  it("reports a refused refresh as ERR_UNAUTHORIZED with the server's reason, and keeps the connection", async () => {
    const url = await start();
    let user = "alice";
    const connection = connect(url, { transports: ["WebSockets"], accessTokenFactory: () => token(user, { expiresAt: Date.now() + 60_000 }) });
    const failures: Error[] = [];
    connection.onAuthenticationRefreshFailed((error) => failures.push(error));
    await connection.start();
    user = "mallory"; // another user's token never becomes the connection's
    const refusal = await connection.refreshAuthentication().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(HubClientError);
    expect(refusal).toMatchObject({ code: "ERR_UNAUTHORIZED", statusCode: 403 });
    expect((refusal as Error).message).toBe("Authentication refresh failed: The request is not authenticated as the connection's user. (Status code '403')");
    expect(failures).toEqual([refusal]);
    expect(connection.state).toBe("Connected");
    expect(await connection.invoke("Whoami")).toBe("alice");
  });

  it("fails with ERR_REFRESH where the server serves no refresh, with ERR_NOT_CONNECTED before start", async () => {
    const url = await start({});
    const connection = connect(url, { transports: ["WebSockets"], accessTokenFactory: () => token("alice") });
    await expect(connection.refreshAuthentication()).rejects.toMatchObject({ code: "ERR_NOT_CONNECTED" });
    await connection.start();
    await expect(connection.refreshAuthentication()).rejects.toMatchObject({ code: "ERR_REFRESH", statusCode: 404 });
  });

  it("fails with ERR_REFRESH on a connection opened without negotiate", async () => {
    const url = await start();
    const connection = connect(url, { transports: ["WebSockets"], skipNegotiation: true, accessTokenFactory: () => token("alice") });
    await connection.start();
    await expect(connection.refreshAuthentication()).rejects.toMatchObject({ code: "ERR_REFRESH" });
  });

  it("tries an automatic refresh that failed again, at half the time left, and keeps the connection", async () => {
    const url = await start();
    // The first automatic refresh (halfway through an 8 s token, of which negotiate names 7: after
    // 3.5 s) meets a failing factory; the next one, at half the time left (after 5.25 s), succeeds.
    let failNext = false;
    const { made, next } = freshAdminTokens(8_000);
    const factory = () => {
      if (failNext) {
        failNext = false;
        throw new Error("the identity provider is away");
      }
      return next();
    };
    const connection = connect(url, { transports: ["WebSockets"], accessTokenFactory: factory, authenticationRefresh: true });
    const failures: Error[] = [];
    const outcome = new Promise<string>((resolve) => {
      connection.onAuthenticationRefreshed(() => resolve("refreshed"));
      connection.onClose(() => resolve("closed"));
    });
    connection.onAuthenticationRefreshFailed((error) => failures.push(error));
    await connection.start();
    failNext = true;
    const firstExpiresAt = made.lastExpiresAt;
    expect(await outcome).toBe("refreshed");
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ code: "ERR_REFRESH" });
    expect(failures[0]!.message).toContain("the identity provider is away");
    await reach(firstExpiresAt + 500);
    expect(connection.state).toBe("Connected");
    expect(await connection.invoke("Restart")).toBe("restarted");
  }, 30_000);

  it("refreshes when the server asks a long poll to, and polls on as the connection's user", async () => {
    // A hub whose connections outlive their tokens (closeOnAuthenticationExpiration off): a poll
    // with an ended token is no user's, not the connection's, and the server asks for a refresh.
    let url: string;
    ({ server, url } = await startOpenServer({ authenticationRefresh: true, closeOnAuthenticationExpiration: false }));
    const { cached, factory } = renewingTokens("alice", 3_000);
    const connection = connect(url, { transports: ["LongPolling"], accessTokenFactory: factory });
    const notices: string[] = [];
    connection.on("notice", (text: string) => notices.push(text));
    let refreshes = 0;
    connection.onAuthenticationRefreshed(() => refreshes++);
    await connection.start();
    await reach(cached.expiresAt + 100);

    // The poll under way ends with the notice; the next one carries the ended token.
    const hub = server!.hubContext(OpenHub);
    await hub.clients.all.notice("one");
    await waitFor(() => notices.length === 1, () => `the first notice (state ${connection.state})`);
    await hub.clients.all.notice("two");
    await waitFor(() => notices.length === 2, () => `the second notice (state ${connection.state})`);
    expect(refreshes).toBeGreaterThanOrEqual(1); // more where starting outlasted a token
    expect(connection.state).toBe("Connected");
    expect(await connection.invoke("Whoami")).toBe("alice");
  }, 20_000);
});
