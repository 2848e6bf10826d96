import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Authorize, Hub, HubClass, HubMethod, HubServer, silentLogger, type HubOptions } from "../../src/index.js";
import { inBandRefusal } from "../support/upgrade-refusal.js";
import { RawJsonClient, RS } from "./raw-client.js";

@HubClass()
class OpenHub extends Hub {
  @HubMethod("Who")
  who(): string | null {
    return this.context.userIdentifier ?? null;
  }
}

@Authorize("admins")
@HubClass()
class AdminHub extends Hub {
  @HubMethod("Who")
  who(): string | null {
    return this.context.userIdentifier ?? null;
  }
}

/** Plain HTTP, so status, headers and body are exactly what the server wrote. */
function http(url: string, method: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The status of a refused WebSocket upgrade (or 101 when it opens). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url.replace(/^http/, "ws"), { headers });
    socket.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.on("open", () => {
      resolve(101);
      socket.terminate();
    });
    socket.on("error", () => {});
  });
}

const users: Record<string, { sub: string; admin: boolean }> = {
  "token-ann": { sub: "ann", admin: true },
  "token-bob": { sub: "bob", admin: false },
};

describe("the HTTP surface of a hub endpoint", () => {
  let server: HubServer | undefined;
  let base = "";
  const sockets: RawJsonClient[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await server?.close();
  });

  async function start(options: HubOptions = {}): Promise<void> {
    server = new HubServer({ logger: silentLogger, policies: { admins: (user) => (user as { admin: boolean }).admin } });
    const authenticate: HubOptions["authenticate"] = (_request, token) => (token ? (users[token] ?? null) : null);
    server.mapHub("/hub", OpenHub, { authenticate, ...options });
    server.mapHub("/admin", AdminHub, { authenticate });
    base = (await server.listen()).url;
  }

  it("negotiates v1 with a secret token apart from the public id", async () => {
    await start();
    const { status, headers, body } = await http(`${base}/hub/negotiate?negotiateVersion=1`, "POST");
    expect(status).toBe(200);
    expect(headers["content-type"]).toBe("application/json");
    const negotiated = JSON.parse(body);
    expect(negotiated).toEqual({
      negotiateVersion: 1,
      connectionId: expect.stringMatching(/^[\w-]{22}$/),
      connectionToken: expect.stringMatching(/^[\w-]{22}$/),
      availableTransports: [
        { transport: "WebSockets", transferFormats: ["Text", "Binary"] },
        { transport: "ServerSentEvents", transferFormats: ["Text"] },
        { transport: "LongPolling", transferFormats: ["Text", "Binary"] },
      ],
    });
    expect(negotiated.connectionToken).not.toBe(negotiated.connectionId);
    // The token routes; the public id does not.
    expect(await upgradeStatus(`${base}/hub?id=${negotiated.connectionId}`)).toBe(404);
    expect(await upgradeStatus(`${base}/hub?id=${negotiated.connectionToken}`)).toBe(101);
  });

  it("negotiates v0 when no version is asked for, and reports version errors with 200", async () => {
    await start();
    const v0 = JSON.parse((await http(`${base}/hub/negotiate`, "POST")).body);
    expect(v0.negotiateVersion).toBe(0);
    expect(v0).not.toHaveProperty("connectionToken");
    expect(await upgradeStatus(`${base}/hub?id=${v0.connectionId}`)).toBe(101);
    const bad = await http(`${base}/hub/negotiate?negotiateVersion=abc`, "POST");
    expect([bad.status, JSON.parse(bad.body)]).toEqual([200, { error: "The client requested a non-integer protocol version." }]);
    expect(JSON.parse((await http(`${base}/hub/negotiate?negotiateVersion=7`, "POST")).body).negotiateVersion).toBe(1);
  });

  it("lists only the transports the hub allows, in fallback order", async () => {
    await start({ transports: ["LongPolling", "WebSockets"] });
    const negotiated = JSON.parse((await http(`${base}/hub/negotiate?negotiateVersion=1`, "POST")).body);
    expect(negotiated.availableTransports.map((t: { transport: string }) => t.transport)).toEqual(["WebSockets", "LongPolling"]);
    const sse = await http(`${base}/hub?id=${negotiated.connectionToken}`, "GET", { Accept: "text/event-stream" });
    expect([sse.status, sse.body]).toEqual([404, "ServerSentEvents transport not supported by this end point type"]);
  });

  it("matches hub paths case-insensitively and leaves other paths alone", async () => {
    await start();
    expect((await http(`${base}/HUB/Negotiate?negotiateVersion=1`, "POST")).status).toBe(200);
    expect((await http(`${base}/elsewhere`, "GET")).status).toBe(404);
    expect((await http(`${base}/hub/negotiate`, "GET")).status).toBe(405);
    expect((await http(`${base}/hub`, "PUT")).status).toBe(405);
  });

  it("answers requests for unknown, busy or mismatched connections with the spec's codes", async () => {
    await start();
    expect(await upgradeStatus(`${base}/hub?id=unknown`)).toBe(404);
    // hubwire's client, resuming, asks to hear the 404 in band (a browser cannot read a status).
    expect(await inBandRefusal(`${base}/hub?id=unknown`)).toEqual({ code: 4404, reason: "No Connection with that ID", received: 0 });
    const { connectionToken } = JSON.parse((await http(`${base}/hub/negotiate?negotiateVersion=1`, "POST")).body);
    const first = await RawJsonClient.open(`${base}/hub?id=${connectionToken}`);
    sockets.push(first);
    expect(await upgradeStatus(`${base}/hub?id=${connectionToken}`)).toBe(409);
    // Only the 404 goes in band: any other refusal is one failed attempt of a resume, as ever.
    expect(await inBandRefusal(`${base}/hub?id=${connectionToken}`)).toEqual({ status: 409 });
    const post = await http(`${base}/hub?id=${connectionToken}`, "POST");
    expect([post.status, post.body]).toEqual([405, "POST requests are not allowed for WebSocket connections."]);
    const del = await http(`${base}/hub?id=${connectionToken}`, "DELETE");
    expect([del.status, del.body]).toEqual([400, "Cannot terminate this connection using the DELETE endpoint."]);
    expect(await http(`${base}/hub`, "POST")).toMatchObject({ status: 400, body: "Connection ID required" });
    expect(await http(`${base}/hub?id=nope`, "POST")).toMatchObject({ status: 404, body: "No Connection with that ID" });
    // The first socket is unharmed.
    first.send(`{"type":1,"invocationId":"1","target":"Who","arguments":[]}${RS}`);
    expect(await first.completion("1")).toEqual({ type: 3, invocationId: "1", result: null });
  });

  it("opens a connection without negotiate (skipNegotiation)", async () => {
    await start();
    const client = await RawJsonClient.open(`${base}/hub`);
    sockets.push(client);
    client.send(`{"type":1,"invocationId":"1","target":"Who","arguments":[]}${RS}`);
    expect(await client.completion("1")).toEqual({ type: 3, invocationId: "1", result: null });
  });

  it("authenticates by bearer header or access_token query, and refuses with 401 / 403", async () => {
    await start();
    const unauthorized = await http(`${base}/admin/negotiate?negotiateVersion=1`, "POST");
    expect([unauthorized.status, unauthorized.body]).toEqual([401, ""]);
    const bogus = await http(`${base}/admin/negotiate?negotiateVersion=1`, "POST", { Authorization: "Bearer forged" });
    expect(bogus.status).toBe(401);
    const forbidden = await http(`${base}/admin/negotiate?negotiateVersion=1`, "POST", { Authorization: "Bearer token-bob" });
    expect(forbidden.status).toBe(403);
    expect(await upgradeStatus(`${base}/admin`)).toBe(401);
    expect(await upgradeStatus(`${base}/admin?access_token=token-bob`)).toBe(403);
    for (const client of [
      await RawJsonClient.open(`${base}/admin`, { headers: { Authorization: "Bearer token-ann" } }),
      await RawJsonClient.open(`${base}/admin?access_token=token-ann`),
    ]) {
      sockets.push(client);
      client.send(`{"type":1,"invocationId":"1","target":"Who","arguments":[]}${RS}`);
      expect(await client.completion("1")).toEqual({ type: 3, invocationId: "1", result: "ann" });
    }
  });

  it("refuses WebSockets from origins not allowed", async () => {
    await start({ allowedOrigins: ["http://app.example"] });
    expect(await upgradeStatus(`${base}/hub`, { Origin: "http://evil.example" })).toBe(403);
    expect(await upgradeStatus(`${base}/hub`, { Origin: "http://app.example" })).toBe(101);
    expect(await upgradeStatus(`${base}/hub`, { Origin: base })).toBe(101); // its own origin
    expect(await upgradeStatus(`${base}/hub`)).toBe(101); // not a browser
  });
});
