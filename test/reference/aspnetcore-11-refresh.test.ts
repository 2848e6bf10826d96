import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { HubConnection, silentLogger } from "../../client/index.js";
import type { HubServer } from "../../src/index.js";
import { RS, send } from "../http-transports/http-client.js";
import { bearer, freshAdminTokens, noPromotion, startGuardedServer, token } from "../abuse/guarded-hub.js";
import { reach } from "../support/wait.js";
import { dotnetMissingFor, projects, startReferenceServer, type ReferenceServer } from "./dotnet.mjs";

// SignalR 11's authentication refresh on ASP.NET Core 11 itself (aspnetcore-11: GuardedHub with the
// same test tokens, on the shared framework dotnet.mjs assembles from the runtime packs): hubwire
// answers refreshes as it does, and hubwire's client refreshes against it.

const missing = dotnetMissingFor("the ASP.NET Core 11 refresh tests");

describe.skipIf(missing)(`authentication refresh against ASP.NET Core 11${missing ? ` (skipped: ${missing})` : ""}`, () => {
  let reference: ReferenceServer | undefined;
  let hubwire: HubServer | undefined;
  const urls = { aspnetcore: "", hubwire: "" };

  beforeAll(async () => {
    reference = await startReferenceServer({ project: projects.aspnetcore11, aspnetcore11: true });
    urls.aspnetcore = `${reference.url}/guarded`;
    let url: string;
    ({ server: hubwire, url } = await startGuardedServer({}, { authenticationRefresh: true }));
    urls.hubwire = url;
  }, 600_000);

  afterAll(async () => {
    await reference?.stop();
    await hubwire?.close();
  });

  it("runs on ASP.NET Core 11", async () => {
    expect((await send(`${reference!.url}/runtime`, "GET")).text).toMatch(/^11\./);
  });

  /** What a server answers each refresh of one script: status, and the body's keys or error. */
  async function refreshScript(hubUrl: string): Promise<unknown[]> {
    const alice = token("alice", { expiresAt: Date.now() + 60_000 });
    const negotiated = await send(`${hubUrl}/negotiate?negotiateVersion=1`, "POST", { headers: bearer(alice) });
    const { connectionToken, tokenLifetimeSeconds } = JSON.parse(negotiated.text) as { connectionToken: string; tokenLifetimeSeconds: number };
    const named = { "X-SignalR-Connection-Token": connectionToken };
    const refresh = async (headers: Record<string, string>, method = "POST") => {
      const reply = await send(`${hubUrl}/refresh`, method, { headers });
      if (reply.status === 200) return [200, Object.keys(JSON.parse(reply.text) as object)];
      // A 401 or 405 of ASP.NET Core's has no body; hubwire's 401 says why, in its own words.
      if (reply.status === 401 || reply.status === 405) return [reply.status];
      return [reply.status, (JSON.parse(reply.text) as { error: string }).error];
    };
    return [
      // The token's minute, less the whole seconds it takes to make and answer (a server's first
      // request may wait seconds for its code to be compiled on a busy host).
      ["negotiate", negotiated.status, tokenLifetimeSeconds > 45 && tokenLifetimeSeconds <= 60],
      ["fresh token", ...(await refresh({ ...named, ...bearer(token("alice", { expiresAt: Date.now() + 30_000 })) }))],
      ["token without an end", ...(await refresh({ ...named, ...bearer(token("alice")) }))],
      ["another user", ...(await refresh({ ...named, ...bearer(token("mallory", { expiresAt: Date.now() + 30_000 })) }))],
      ["no token", ...(await refresh(named))],
      ["expired token", ...(await refresh({ ...named, ...bearer(token("alice", { expiresAt: Date.now() - 1_000 })) }))],
      ["unknown connection", ...(await refresh({ "X-SignalR-Connection-Token": "no-such-connection", ...bearer(alice) }))],
      ["no connection token", ...(await refresh(bearer(alice)))],
      ["GET", ...(await refresh({ ...named, ...bearer(alice) }, "GET"))],
    ];
  }

  it("answers every refresh of a script as ASP.NET Core 11 does", async () => {
    const expected = await refreshScript(urls.aspnetcore);
    expect(await refreshScript(urls.hubwire)).toEqual(expected);
    // What they both answered, written out.
    expect(expected).toEqual([
      ["negotiate", 200, true],
      ["fresh token", 200, ["tokenLifetimeSeconds"]],
      ["token without an end", 200, []],
      ["another user", 403, "user_changed"],
      ["no token", 401],
      ["expired token", 401],
      ["unknown connection", 404, "connection_not_found"],
      ["no connection token", 400, "missing_connection_token"],
      ["GET", 405],
    ]);
  });

  /**
   * What a server answers each long poll of one script, on a long-polling connection of alice's
   * whose token ends in a minute: status, and the JSON body's error where there is one.
   */
  async function pollScript(hubUrl: string): Promise<unknown[]> {
    const alice = token("alice", { expiresAt: Date.now() + 60_000 });
    const negotiated = await send(`${hubUrl}/negotiate?negotiateVersion=1`, "POST", { headers: bearer(alice) });
    const { connectionToken } = JSON.parse(negotiated.text) as { connectionToken: string };
    const url = `${hubUrl}?id=${connectionToken}`;
    const poll = async (headers: Record<string, string>) => {
      const reply = await send(url, "GET", { headers });
      const json = String(reply.headers["content-type"]).startsWith("application/json");
      return json ? [reply.status, (JSON.parse(reply.text) as { error: string }).error] : [reply.status];
    };
    const mallory = (expiresAt?: number) => bearer(token("mallory", expiresAt === undefined ? {} : { expiresAt }));
    const script = [
      ["first poll", ...(await poll(bearer(alice)))],
      ["another user, ending later", ...(await poll(mallory(Date.now() + 120_000)))],
      ["another user, never ending", ...(await poll(mallory()))],
      ["another user, ending sooner", ...(await poll(mallory(Date.now() + 30_000)))],
      ["no token", ...(await poll({}))],
      ["expired token", ...(await poll(bearer(token("alice", { expiresAt: Date.now() - 1_000 }))))],
    ];
    // The connection is alice's still: a poll of hers gets the handshake's answer.
    const answered = poll(bearer(token("alice", { expiresAt: Date.now() + 90_000 })));
    const handshake = await send(url, "POST", { headers: bearer(alice), body: `{"protocol":"json","version":1}${RS}` });
    script.push(["handshake", handshake.status], ["alice's poll", ...(await answered)]);
    await send(url, "DELETE", { headers: bearer(alice) });
    return script;
  }

  it("answers every long poll of a script as ASP.NET Core 11 does", async () => {
    const expected = await pollScript(urls.aspnetcore);
    expect(await pollScript(urls.hubwire)).toEqual(expected);
    // What they both answered, written out: another user's poll is refused (403) only when that
    // user's authentication ends first; else the client is asked to refresh (409).
    expect(expected).toEqual([
      ["first poll", 200],
      ["another user, ending later", 409, "authentication_refresh_required"],
      ["another user, never ending", 409, "authentication_refresh_required"],
      ["another user, ending sooner", 403],
      ["no token", 401],
      ["expired token", 401],
      ["handshake", 200],
      ["alice's poll", 200],
    ]);
  });

  /** What a WebSocket client of `hubUrl` reads until the server closes it, its token lasting 1.5 s. */
  async function untilExpiryCloses(hubUrl: string): Promise<string[]> {
    const bearerToken = token("root", { role: "admin", expiresAt: Date.now() + 1_500 });
    const negotiated = await send(`${hubUrl}/negotiate?negotiateVersion=1`, "POST", { headers: bearer(bearerToken) });
    const { connectionToken } = JSON.parse(negotiated.text) as { connectionToken: string };
    const socket = new WebSocket(`${hubUrl.replace(/^http/, "ws")}?id=${connectionToken}&access_token=${bearerToken}`);
    const read: string[] = [];
    socket.on("message", (data) => read.push(String(data)));
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(`{"protocol":"json","version":1}${RS}`);
    const code = await new Promise<number>((resolve) => socket.once("close", resolve));
    return [...read, `closed ${code}`];
  }

  it("closes a connection at its authentication's end as ASP.NET Core does: a Close asking its client to come back", async () => {
    const [expected, answered] = await Promise.all([untilExpiryCloses(urls.aspnetcore), untilExpiryCloses(urls.hubwire)]);
    expect(answered).toEqual(expected);
    expect(expected).toEqual([`{}${RS}`, `{"type":7,"allowReconnect":true}${RS}`, "closed 1000"]);
  });

  /**
   * Whether a WebSocket connection of `hubUrl` lasts until its first token's end (4 s) when a
   * refresh brings one that ends sooner (1.5 s): the server closes it at the end it keeps.
   * ASP.NET Core checks ends once a second and closes up to a second early.
   */
  async function keepsLaterEnd(hubUrl: string): Promise<boolean> {
    const firstEnd = Date.now() + 4_000;
    const first = token("root", { role: "admin", expiresAt: firstEnd });
    const negotiated = await send(`${hubUrl}/negotiate?negotiateVersion=1`, "POST", { headers: bearer(first) });
    const { connectionToken } = JSON.parse(negotiated.text) as { connectionToken: string };
    const socket = new WebSocket(`${hubUrl.replace(/^http/, "ws")}?id=${connectionToken}&access_token=${first}`);
    const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
    const handshake = new Promise((resolve) => socket.once("message", resolve));
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(`{"protocol":"json","version":1}${RS}`);
    await handshake;
    const sooner = token("root", { role: "admin", expiresAt: Date.now() + 1_500 });
    const refreshed = await send(`${hubUrl}/refresh`, "POST", { headers: { "X-SignalR-Connection-Token": connectionToken, ...bearer(sooner) } });
    expect(refreshed.status).toBe(200);
    return (await closed) >= firstEnd - 1_000;
  }

  it("keeps a connection's later end when a refresh brings a token that ends sooner, as ASP.NET Core 11 does", async () => {
    const kept = await Promise.all([keepsLaterEnd(urls.aspnetcore), keepsLaterEnd(urls.hubwire)]);
    expect(kept).toEqual([true, true]);
  });

  /**
   * With no request's authentication counting for more than 2 s, for a token without an end:
   * negotiate's lifetime, a refresh's answer, and what a WebSocket reads until it is closed.
   */
  async function cappedScript(hubUrl: string): Promise<unknown[]> {
    const endless = token("root", { role: "admin" });
    const negotiated = await send(`${hubUrl}/negotiate?negotiateVersion=1`, "POST", { headers: bearer(endless) });
    const { connectionToken, tokenLifetimeSeconds } = JSON.parse(negotiated.text) as { connectionToken: string; tokenLifetimeSeconds: number };
    const opened = Date.now();
    const socket = new WebSocket(`${hubUrl.replace(/^http/, "ws")}?id=${connectionToken}&access_token=${endless}`);
    const read: string[] = [];
    socket.on("message", (data) => read.push(String(data)));
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(`{"protocol":"json","version":1}${RS}`);
    const refreshed = await send(`${hubUrl}/refresh`, "POST", { headers: { "X-SignalR-Connection-Token": connectionToken, ...bearer(endless) } });
    const refreshedLifetime = (JSON.parse(refreshed.text) as { tokenLifetimeSeconds?: number }).tokenLifetimeSeconds;
    const code = await closed;
    return [
      ["negotiate", [1, 2].includes(tokenLifetimeSeconds)],
      ["refresh", refreshed.status, refreshedLifetime !== undefined && [1, 2].includes(refreshedLifetime)],
      ["closed after 1 s", Date.now() - opened >= 1_000], // ASP.NET Core closes up to a second early
      ["read", ...read, `closed ${code}`],
    ];
  }

  it("caps a token without an end at maximumAuthenticationExpiration, as ASP.NET Core 11's MaximumAuthenticationExpiration", async () => {
    const capped = await startGuardedServer({}, { authenticationRefresh: true, maximumAuthenticationExpiration: 2_000 });
    try {
      const [expected, answered] = await Promise.all([cappedScript(`${reference!.url}/guarded-capped`), cappedScript(capped.url)]);
      expect(answered).toEqual(expected);
      expect(expected).toEqual([
        ["negotiate", true],
        ["refresh", 200, true],
        ["closed after 1 s", true],
        ["read", `{}${RS}`, `{"type":7,"allowReconnect":true}${RS}`, "closed 1000"],
      ]);
    } finally {
      await capped.server.close();
    }
  });

  /**
   * On a long-polling connection of alice's, where no refresh may make a user an admin: what
   * refreshes and polls bringing a fresh authentication are answered, and whether the connection
   * is still there after a poll's was refused.
   */
  async function noPromotionScript(hubUrl: string): Promise<unknown[]> {
    const alice = (role: string, ms: number) => token("alice", { role, expiresAt: Date.now() + ms });
    const first = alice("user", 60_000);
    const negotiated = await send(`${hubUrl}/negotiate?negotiateVersion=1`, "POST", { headers: bearer(first) });
    const { connectionToken } = JSON.parse(negotiated.text) as { connectionToken: string };
    const pollUrl = `${hubUrl}?id=${connectionToken}`;
    const answer = async (reply: Promise<{ status: number; text: string; headers: Record<string, unknown> }>) => {
      const { status, text, headers } = await reply;
      return String(headers["content-type"]).startsWith("application/json") && status !== 200 ? [status, (JSON.parse(text) as { error: string }).error] : [status];
    };
    const refresh = (accessToken: string) => answer(send(`${hubUrl}/refresh`, "POST", { headers: { "X-SignalR-Connection-Token": connectionToken, ...bearer(accessToken) } }));
    const poll = (accessToken: string) => answer(send(pollUrl, "GET", { headers: bearer(accessToken) }));
    return [
      ["first poll", ...(await poll(first))],
      ["refresh, later end", ...(await refresh(alice("user", 120_000)))],
      ["refresh as an admin", ...(await refresh(alice("admin", 180_000)))],
      ["poll as an admin", ...(await poll(alice("admin", 180_000)))],
      ["poll after it", ...(await poll(alice("user", 180_000)))],
    ];
  }

  it("lets the hub refuse a fresh authentication as ASP.NET Core 11's OnAuthenticationRefresh does", async () => {
    const guarded = await startGuardedServer({}, { authenticationRefresh: true, acceptAuthenticationRefresh: noPromotion });
    try {
      const expected = await noPromotionScript(`${reference!.url}/guarded-no-promotion`);
      const answered = await noPromotionScript(guarded.url);
      // The connection a refused poll ended: ASP.NET Core forgets it at once (404); hubwire
      // answers its client's next poll with the end (204), as after any close of a long poll.
      expect(answered.slice(0, -1)).toEqual(expected.slice(0, -1));
      expect([expected.at(-1), answered.at(-1)]).toEqual([["poll after it", 404], ["poll after it", 204]]);
      expect(expected.slice(0, -1)).toEqual([
        ["first poll", 200],
        ["refresh, later end", 200],
        ["refresh as an admin", 403, "permission_change_rejected"],
        ["poll as an admin", 403, "permission_change_rejected"],
      ]);
    } finally {
      await guarded.server.close();
    }
  });

  it.each(["WebSockets", "ServerSentEvents", "LongPolling"] as const)(
    "keeps hubwire's client connected over %s past its first token's end, as ASP.NET Core would close it",
    async (transport) => {
      // 6 s tokens (negotiate says 5), refreshed halfway (less than twice the 3 s before the end).
      const { made, next } = freshAdminTokens(6_000);
      const connection = new HubConnection(urls.aspnetcore, {
        transports: [transport],
        accessTokenFactory: next,
        authenticationRefresh: { refreshBeforeExpiryMs: 3_000 },
        reconnect: false,
        logger: silentLogger,
      });
      const lifetimes: Array<number | undefined> = [];
      connection.onAuthenticationRefreshed((seconds) => lifetimes.push(seconds));
      try {
        await connection.start();
        await reach(made.lastExpiresAt + 500);
        expect(connection.state).toBe("Connected");
        expect(await connection.invoke("Restart")).toBe("restarted");
        expect(lifetimes.length).toBeGreaterThan(0);
        expect(lifetimes.every((seconds) => seconds !== undefined && seconds >= 4 && seconds <= 6)).toBe(true);
      } finally {
        await connection.stop();
      }
    },
    30_000,
  );
});
