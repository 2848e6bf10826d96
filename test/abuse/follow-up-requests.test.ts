import { HttpTransportType, HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { EventStream, RS, send } from "../http-transports/http-client.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import {
  authenticateTestToken,
  bearer,
  guardedLog,
  negotiateAs,
  outcome,
  resetGuardedLog,
  startGuardedServer,
  token,
  upgradeOutcome,
} from "./guarded-hub.js";
import { expectCanaryAnswered, startCanary } from "./canary-beside.js";

const alice = token("alice");
const mallory = token("mallory");
const otherUser = [403, "The request is not authenticated as the connection's user."];
const handshake = `{"protocol":"json","version":1}${RS}`;
const invocation = (id: string) => `{"type":1,"invocationId":"${id}","target":"Whoami","arguments":[]}${RS}`;
const textBody = { "Content-Type": "text/plain;charset=UTF-8" };

@HubClass()
class OpenHub extends Hub {
  @HubMethod("Whoami")
  whoami(): string | undefined {
    return this.context.userIdentifier;
  }
}

describe("follow-up requests authenticate as their connection's user", () => {
  let server: HubServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    resetGuardedLog();
  });

  it("refuses long-polling polls, sends and deletes without the connection's user, and runs nothing for them", async () => {
    let url: string;
    ({ server, url } = await startGuardedServer());
    const canary = await startCanary(url);
    const id = await negotiateAs(url, alice);
    const at = `${url}?id=${id}`;
    expect((await send(at, "GET", { headers: bearer(alice) })).status).toBe(200); // the connection starts
    expect((await send(at, "POST", { body: handshake, headers: { ...textBody, ...bearer(alice) } })).status).toBe(200);
    expect((await send(at, "GET", { headers: bearer(alice) })).text).toBe(`{}${RS}`);

    // The connection token alone, or with another user's token, is nobody's.
    const call = (headers: Record<string, string>) => outcome(send(at, "POST", { body: invocation("stolen"), headers: { ...textBody, ...headers } }));
    expect(await call({})).toEqual([401, ""]);
    expect(await call(bearer(mallory))).toEqual(otherUser);
    expect(await outcome(send(`${at}&access_token=${alice}`, "POST", { body: invocation("stolen"), headers: textBody }))).toEqual([401, ""]);
    expect(await outcome(send(at, "GET"))).toEqual([401, ""]);
    expect(await outcome(send(at, "GET", { headers: bearer(mallory) }))).toEqual(otherUser);
    expect(await outcome(send(at, "DELETE"))).toEqual([401, ""]);
    expect(await outcome(send(at, "DELETE", { headers: bearer(mallory) }))).toEqual(otherUser);

    // The connection's own user carries on: only its call ran.
    expect((await call(bearer(alice)).then(([status]) => status))).toBe(200);
    const poll = await send(at, "GET", { headers: bearer(alice) });
    expect(poll.text).toBe(`{"type":3,"invocationId":"stolen","result":"alice"}${RS}`);
    expect(guardedLog.calls).toEqual(["whoami alice"]);
    expect(server.connectionCount).toBe(2); // and the canary's
    await expectCanaryAnswered(canary);
  });

  it("refuses sends of a Server-Sent Events connection without its user", async () => {
    let url: string;
    ({ server, url } = await startGuardedServer());
    const canary = await startCanary(url);
    const id = await negotiateAs(url, alice);
    const at = `${url}?id=${id}`;
    const stream = await EventStream.open(`${at}&access_token=${alice}`);
    try {
      expect((await send(at, "POST", { body: handshake, headers: { ...textBody, ...bearer(alice) } })).status).toBe(200);
      const post = (headers: Record<string, string>) => outcome(send(at, "POST", { body: invocation("1"), headers: { ...textBody, ...headers } }));
      expect(await post({})).toEqual([401, ""]);
      expect(await post(bearer(mallory))).toEqual(otherUser);
      // A second stream for the same connection is not a way in either.
      expect(await outcome(send(`${at}&access_token=${mallory}`, "GET", { headers: { Accept: "text/event-stream" } }))).toEqual(otherUser);
      expect(guardedLog.calls).toEqual([]);
      await expectCanaryAnswered(canary);
    } finally {
      stream.abort();
    }
  });

  it("refuses a WebSocket for a negotiated connection as another user", async () => {
    let url: string;
    ({ server, url } = await startGuardedServer({ allowStatefulReconnects: true }));
    const canary = await startCanary(url);
    const id = await negotiateAs(url, alice);
    expect(await upgradeOutcome(`${url}?id=${id}`, bearer(mallory))).toEqual(otherUser);
    expect(await upgradeOutcome(`${url}?id=${id}`)).toEqual([401, ""]);
    expect(await upgradeOutcome(`${url}?id=${id}&access_token=${alice}`)).toEqual([101, ""]);
    await expectCanaryAnswered(canary);
  });

  it("refuses a stateful reconnect with another user's token: the connection token alone cannot take it over", async () => {
    let url: string;
    ({ server, url } = await startGuardedServer({ allowStatefulReconnects: true }));
    const canary = await startCanary(url);
    const proxy = await startTcpProxy(Number(new URL(url).port));
    try {
      let bearerToken = alice;
      const client = new HubConnectionBuilder()
        .withUrl(`${proxy.url}/guarded`, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => bearerToken })
        .withStatefulReconnect()
        .configureLogging(LogLevel.None)
        .build();
      const closed = new Promise<Error | undefined>((resolve) => client.onclose(resolve));
      await client.start();
      expect(await client.invoke("Whoami")).toBe("alice");
      bearerToken = mallory;
      proxy.halfOpen(); // the client reconnects at once, now as mallory
      // A call made meanwhile waits for the reconnect: it would be answered had the reconnect been let in.
      const call = client.invoke("Whoami").then(() => "answered", () => "refused");
      expect(await Promise.race([call, closed.then(() => "refused")])).toBe("refused");
      expect(String(await closed)).toContain("WebSocket closed with status code: 1006");
      expect(guardedLog.calls).toEqual(["whoami alice"]);
      expect(server.connectionCount).toBe(2); // alice's connection still waits for alice; the canary's
      await expectCanaryAnswered(canary);
    } finally {
      await proxy.close();
    }
  });

  it("on a hub open to anonymous users, the user of a connection cannot change either way", async () => {
    server = new HubServer({ logger: silentLogger, closeTimeout: 200 });
    server.mapHub("/open", OpenHub, { authenticate: authenticateTestToken });
    const url = `${(await server.listen()).url}/open`;
    const anonymous = await negotiateAs(url);
    expect(await outcome(send(`${url}?id=${anonymous}`, "GET", { headers: bearer(alice) }))).toEqual(otherUser);
    const signedIn = await negotiateAs(url, alice);
    expect(await outcome(send(`${url}?id=${signedIn}`, "GET"))).toEqual(otherUser);
    expect((await send(`${url}?id=${signedIn}`, "GET", { headers: bearer(alice) })).status).toBe(200);
  });

  it.each([
    ["long polling", HttpTransportType.LongPolling],
    ["Server-Sent Events", HttpTransportType.ServerSentEvents],
  ])("lets the official client in over %s: it sends its token with every request", async (_name, transport) => {
    let url: string;
    ({ server, url } = await startGuardedServer());
    const client = new HubConnectionBuilder()
      .withUrl(url, { transport, accessTokenFactory: () => alice })
      .configureLogging(LogLevel.None)
      .build();
    await client.start();
    try {
      expect(await client.invoke("Whoami")).toBe("alice");
      expect(await client.invoke("Whoami")).toBe("alice");
    } finally {
      await client.stop();
    }
  });
});
