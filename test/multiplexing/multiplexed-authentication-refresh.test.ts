import { afterEach, describe, expect, it } from "vitest";
import { HubClientError, type HubConnection } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import type { HubMultiplexerOptions } from "../../client/multiplexer-options.js";
import { HubServer, silentLogger, type MultiplexerOptions } from "../../src/index.js";
import { adminPolicy, authenticateTestToken, freshAdminTokens, GuardedHub, OpenHub, renewingTokens, resetGuardedLog, token } from "../abuse/guarded-hub.js";
import { reach, waitFor } from "../support/wait.js";

// Over a WebSocket a token comes only with the upgrade: a multiplexed connection's hubs keep their
// authentication past their first token's end only by an authentication refresh of the connection.
describe("authentication refresh of a multiplexed WebSocket connection", () => {
  let server: HubServer | undefined;
  let hubs: HubMultiplexer | undefined;
  afterEach(async () => {
    await hubs?.stop();
    await server?.close();
    hubs = server = undefined;
    resetGuardedLog();
  });

  /** A server with GuardedHub at /guarded and /guarded-too, and a multiplexer at /hubs; its URL. */
  async function start(multiplexer: MultiplexerOptions = { authenticationRefresh: true }): Promise<string> {
    server = new HubServer({ logger: silentLogger, policies: adminPolicy, closeTimeout: 200 });
    server.mapHub("/guarded", GuardedHub, { authenticate: authenticateTestToken });
    server.mapHub("/guarded-too", GuardedHub, { authenticate: authenticateTestToken });
    server.mapMultiplexer("/hubs", multiplexer);
    const { url } = await server.listen();
    return `${url}/hubs`;
  }

  function multiplexer(url: string, options: HubMultiplexerOptions): HubMultiplexer {
    return (hubs = new HubMultiplexer(url, { transports: ["WebSockets"], reconnect: false, logger: silentLogger, ...options }));
  }

  async function open(path: string): Promise<{ hub: HubConnection; closed: Array<Error | undefined> }> {
    const hub = hubs!.hub(path);
    const closed: Array<Error | undefined> = [];
    hub.onClose((error) => closed.push(error));
    await hub.start();
    return { hub, closed };
  }

  it("keeps every hub open past its first token's expiry: the client refreshes before it, as the hubs' opening said", async () => {
    const url = await start();
    // Each token lasts 6 s (the opening says 5, in whole seconds); the client refreshes halfway
    // (less than twice the 3 s before the end it is given), after 2.5 s, and again after each
    // refresh. The hubs would close at 6 s.
    const { made, next } = freshAdminTokens(6_000);
    multiplexer(url, { accessTokenFactory: next, authenticationRefresh: { refreshBeforeExpiryMs: 3_000 } });
    const lifetimes: Array<number | undefined> = [];
    hubs!.onAuthenticationRefreshed((seconds) => lifetimes.push(seconds));
    const first = await open("/guarded");
    const second = await open("/guarded-too");
    await reach(made.lastExpiresAt + 500);
    expect([first.closed, second.closed]).toEqual([[], []]);
    // @Authorize with the admin policy: each hub's user is a fresh token's, not expired.
    expect(await first.hub.invoke("Restart")).toBe("restarted");
    expect(await second.hub.invoke("Restart")).toBe("restarted");
    expect(lifetimes.length).toBeGreaterThan(0);
    expect(lifetimes.every((seconds) => seconds !== undefined && seconds >= 4 && seconds <= 6)).toBe(true);
  }, 30_000);

  it("without a refresh, a hub is closed at its token's expiry, while the connection goes on", async () => {
    const url = await start();
    const { made, next } = freshAdminTokens(2_000);
    multiplexer(url, { accessTokenFactory: next });
    const { hub, closed } = await open("/guarded");
    const ended = new Promise<void>((resolve) => hub.onClose(() => resolve()));
    await ended;
    expect(Date.now()).toBeGreaterThanOrEqual(made.lastExpiresAt - 50);
    expect(closed).toEqual([undefined]); // told to come back, which it does not do with reconnect off
    expect(hubs!.isConnected).toBe(true);
  });

  it("refreshes when asked, and answers with how long the first of the hubs' tokens lasts", async () => {
    const url = await start();
    const { made, next } = freshAdminTokens(60_000);
    multiplexer(url, { accessTokenFactory: next });
    const { hub } = await open("/guarded");
    const before = made.count;
    expect([59, 60]).toContain(await hubs!.refreshAuthentication());
    expect(made.count).toBe(before + 1);
    expect(await hub.invoke("Restart")).toBe("restarted");
  });

  it("is refused when a hub refuses the fresh token, and the hubs keep their user", async () => {
    const url = await start();
    let user = "alice";
    multiplexer(url, { accessTokenFactory: () => token(user, { expiresAt: Date.now() + 60_000 }) });
    const { hub, closed } = await open("/guarded");
    user = "mallory"; // another user's token never becomes a hub's
    const refusal = await hubs!.refreshAuthentication().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(HubClientError);
    expect(refusal).toMatchObject({ code: "ERR_UNAUTHORIZED", statusCode: 403 });
    expect(closed).toEqual([]);
    expect(await hub.invoke("Whoami")).toBe("alice");
  });

  it("fails with ERR_REFRESH where the multiplexer serves no refresh", async () => {
    const url = await start({});
    multiplexer(url, { accessTokenFactory: () => token("alice") });
    await open("/guarded");
    await expect(hubs!.refreshAuthentication()).rejects.toMatchObject({ code: "ERR_REFRESH", statusCode: 404 });
  });

  it("refreshes when the server asks a long poll to, and every hub polls on as its user", async () => {
    // Hubs whose connections outlive their tokens: a poll with an ended token is no user's, not
    // the hubs', and the server asks for a refresh of the connection (409).
    server = new HubServer({ logger: silentLogger, closeTimeout: 200 });
    server.mapHub("/open", OpenHub, { authenticate: authenticateTestToken, closeOnAuthenticationExpiration: false });
    server.mapMultiplexer("/hubs", { authenticationRefresh: true });
    const { url } = await server.listen();
    const { cached, factory } = renewingTokens("alice", 3_000);
    multiplexer(`${url}/hubs`, { transports: ["LongPolling"], accessTokenFactory: factory });
    let refreshes = 0;
    hubs!.onAuthenticationRefreshed(() => refreshes++);
    const { hub, closed } = await open("/open");
    const notices: string[] = [];
    hub.on("notice", (text: string) => notices.push(text));
    await reach(cached.expiresAt + 100);

    // The poll under way ends with the notice; the next one carries the ended token.
    const context = server.hubContext(OpenHub);
    await context.clients.all.notice("one");
    await waitFor(() => notices.length === 1, () => `the first notice (closed: ${closed.length})`);
    await context.clients.all.notice("two");
    await waitFor(() => notices.length === 2, () => `the second notice (closed: ${closed.length})`);
    expect(refreshes).toBeGreaterThanOrEqual(1); // more where opening outlasted a token
    expect(closed).toEqual([]);
    expect(await hub.invoke("Whoami")).toBe("alice");
  }, 20_000);
});
