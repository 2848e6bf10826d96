import { Container } from "typedi";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { authenticated, silentLogger, type HubOptions } from "../../src/index.js";
import { HubClientError, HubError, TestHost, withSignal, type TestHostOptions } from "../../src/testing/index.js";
import { waitFor } from "../support/wait.js";
import { AdminHub, auditFilter, ChatHub, events, Greeter, MembersHub } from "./chat-hub.js";

const tokens: Record<string, { sub: string; roles: string[] }> = {
  "token-of-ann": { sub: "ann", roles: ["admin"] },
  "token-of-bob": { sub: "bob", roles: [] },
};

let host: TestHost;

function start(options: TestHostOptions = {}, hubOptions: HubOptions = {}): TestHost {
  host = new TestHost({ logger: silentLogger, policies: { admin: (user) => (user as { roles: string[] }).roles.includes("admin") }, ...options });
  host.mapHub("/chat", ChatHub, hubOptions);
  host.mapHub("/members", MembersHub);
  host.mapHub("/admin", AdminHub);
  return host;
}

beforeEach(() => {
  events.length = 0;
});

afterEach(async () => {
  await host?.close();
});

describe("TestHost: calls", () => {
  it("invokes a hub method typed by the hub's own methods, with its services injected by typedi", async () => {
    start();
    const client = await host.connect(ChatHub);
    const greeting: string = await client.hub.greet("ann");
    expect(greeting).toBe("hello ann");
    // By wire name too, through hubwire's client underneath.
    expect(await client.connection.invoke("greet", "bob")).toBe("hello bob");
  });

  it("takes the services of the container the options give", async () => {
    const container = Container.of("test-host");
    container.set(Greeter, { greet: (name: string) => `hi ${name}, from a stub` });
    start({ container });
    const client = await host.connect(ChatHub);
    expect(await client.hub.greet("ann")).toBe("hi ann, from a stub");
  });

  it("speaks MessagePack as well as JSON", async () => {
    start();
    const client = await host.connect(ChatHub, { protocol: "messagepack", user: { sub: "ann" } });
    expect(await client.hub.greet("ann")).toBe("hello ann");
    expect(await client.hub.whoAmI()).toMatchObject({ userId: "ann" });
  });

  it("fails a call whose hub method threw as the network does: no detail unless detailed errors are on", async () => {
    start();
    const client = await host.connect(ChatHub);
    const error = await client.hub.fail().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).message).toBe("An unexpected error occurred invoking 'Fail' on the server.");
    await host.close();

    start({}, { enableDetailedErrors: true });
    const detailed = await host.connect(ChatHub);
    await expect(detailed.hub.fail()).rejects.toThrow("An unexpected error occurred invoking 'Fail' on the server. Error: a detail only the server sees");
  });

  it("gives a HubException's text to the caller", async () => {
    start();
    const client = await host.connect(ChatHub);
    const error = (await client.hub.send("lobby", "").catch((e: unknown) => e)) as HubError;
    expect(error.hubMessage).toBe("Empty message");
  });

  it("runs the hub's filters around calls, and a filter's refusal fails the call before the hub runs", async () => {
    start({}, { filters: [auditFilter] });
    const client = await host.connect(ChatHub, { user: { sub: "ann" } });
    expect(await client.hub.greet("bob")).toBe("hello bob");
    const refused = (await client.hub.greet("mallory").catch((e: unknown) => e)) as HubError;
    expect(refused.hubMessage).toBe("Not her.");
    expect(events).toEqual(["connected ann", "> Greet by ann", '< Greet "hello bob"', "> Greet by ann"]);
  });
});

describe("TestHost: users and authorization", () => {
  it("connects as a given user: the hub sees the user, its id, the request and the transport", async () => {
    start();
    const client = await host.connect(ChatHub, { user: { sub: "ann", roles: [] }, query: { room: "lobby" }, headers: { "User-Agent": "vitest" } });
    expect(await client.hub.whoAmI()).toEqual({
      user: { sub: "ann", roles: [] },
      userId: "ann",
      transport: "WebSockets",
      room: "lobby",
      agent: "vitest",
    });
    expect(events).toEqual(["connected ann"]);
  });

  it("authenticates a token with the hub's own authenticate, as on the network", async () => {
    start({ authenticate: (_request, token) => (token ? (tokens[token] ?? null) : null) });
    const bob = await host.connect(ChatHub, { token: "token-of-bob" });
    expect(await bob.hub.whoAmI()).toMatchObject({ user: tokens["token-of-bob"], userId: "bob" });
    const stranger = await host.connect(ChatHub, { token: "forged" });
    expect(await stranger.hub.whoAmI()).toMatchObject({ user: null });
    // A given user stands in for authenticate.
    const given = await host.connect(ChatHub, { user: { sub: "cy", roles: [] }, token: "token-of-bob" });
    expect(await given.hub.whoAmI()).toMatchObject({ userId: "cy" });
  });

  it("refuses a hub-level @Authorize to an anonymous user with 401, as hubwire's client is refused", async () => {
    start({ authenticate: (_request, token) => (token ? (tokens[token] ?? null) : null) });
    for (const options of [{ user: null }, { token: "forged" }, {}]) {
      const error = (await host.connect(MembersHub, options).catch((e: unknown) => e)) as HubClientError;
      expect(error).toBeInstanceOf(HubClientError);
      expect(error).toMatchObject({ code: "ERR_UNAUTHORIZED", statusCode: 401 });
    }
    const member = await host.connect(MembersHub, { token: "token-of-bob" });
    expect(await member.hub.ping()).toBe("pong");
  });

  it("refuses a hub-level @Authorize policy's refusal with 403", async () => {
    start();
    await expect(host.connect(AdminHub, { user: { sub: "bob", roles: [] } })).rejects.toMatchObject({ code: "ERR_UNAUTHORIZED", statusCode: 403 });
    const admin = await host.connect(AdminHub, { user: { sub: "ann", roles: ["admin"] } });
    expect(await admin.hub.ping()).toBe("pong");
  });

  it("applies a method's @Authorize policy per call", async () => {
    start();
    const guest = await host.connect(ChatHub, { user: { sub: "bob", roles: [] } });
    await expect(guest.hub.purge()).rejects.toThrow("Failed to invoke 'Purge' because user is unauthorized");
    const admin = await host.connect(ChatHub, { user: { sub: "ann", roles: ["admin"] } });
    expect(await admin.hub.purge()).toBe("purged");
  });

  it("refreshes a client's authentication as the same user, after which the hub and its policies see the fresh one", async () => {
    start({ authenticate: (_request, token) => (token ? (tokens[token] ?? null) : null) });
    const ann = await host.connect(ChatHub, { user: { sub: "ann", roles: ["admin"] } });
    expect(await ann.hub.purge()).toBe("purged");
    await ann.refreshAuthentication({ user: { sub: "ann", roles: [] } });
    expect(events).toEqual(["connected ann", "refreshed ann ()"]); // onAuthenticationRefreshed has run
    await expect(ann.hub.purge()).rejects.toThrow("unauthorized");
    // Another user, or none, is refused, and the connection keeps its user.
    await expect(ann.refreshAuthentication({ token: "token-of-bob" })).rejects.toMatchObject({ code: "ERR_UNAUTHORIZED", statusCode: 403 });
    await expect(ann.refreshAuthentication({ user: null })).rejects.toMatchObject({ code: "ERR_UNAUTHORIZED", statusCode: 403 });
    expect(await ann.hub.whoAmI()).toMatchObject({ userId: "ann", user: { sub: "ann", roles: [] } });
    // The same user as before: nothing changed, nothing runs.
    await ann.refreshAuthentication({ user: { sub: "ann", roles: [] } });
    expect(events).toEqual(["connected ann", "refreshed ann ()"]);
  });

  it("refuses a refresh the hub's acceptAuthenticationRefresh says no to, as on the network", async () => {
    start({}, { acceptAuthenticationRefresh: ({ user }) => !(user as { roles: string[] }).roles.includes("admin") });
    const bob = await host.connect(ChatHub, { user: { sub: "bob", roles: [] } });
    await expect(bob.refreshAuthentication({ user: { sub: "bob", roles: ["admin"] } })).rejects.toMatchObject({ code: "ERR_UNAUTHORIZED", statusCode: 403 });
    await expect(bob.hub.purge()).rejects.toThrow("unauthorized");
    expect(events).toEqual(["connected bob"]);
  });

  it("closes a connection whose authentication expires, telling its client to come back", async () => {
    start();
    const client = await host.connect(ChatHub, { user: authenticated({ sub: "ann", roles: [] }, { expiresAt: Date.now() + 200 }) });
    const error = await client.closed;
    expect(error).toBeUndefined();
    expect(events).toEqual(["connected ann", "disconnected ann (Authentication expired.)"]);
  });
});

describe("TestHost: what clients receive", () => {
  it("delivers to groups, and only to their members, in order", async () => {
    start();
    const [ann, bob, cy] = await Promise.all(["ann", "bob", "cy"].map((sub) => host.connect(ChatHub, { user: { sub }, name: sub })));
    await ann!.hub.join("lobby");
    await bob!.hub.join("lobby");
    await ann!.hub.send("lobby", "one");
    await bob!.hub.send("lobby", "two");
    expect(await bob!.next("message")).toEqual(["ann", "one"]);
    expect(await bob!.next("message")).toEqual(["bob", "two"]);
    await bob!.hub.leave("lobby");
    await ann!.hub.send("lobby", "three");
    // A send to everyone after the others: once it has arrived, anything before it has too.
    await host.hubContext(ChatHub).clients.all.notice("end");
    for (const client of [ann!, bob!, cy!]) await client.next("notice");
    expect(ann!.received).toEqual([
      { method: "message", args: ["ann", "one"] },
      { method: "message", args: ["bob", "two"] },
      { method: "message", args: ["ann", "three"] },
      { method: "notice", args: ["end"] },
    ]);
    expect(bob!.received.map((m) => m.args[0])).toEqual(["ann", "bob", "end"]);
    expect(cy!.received).toEqual([{ method: "notice", args: ["end"] }]);
  });

  it("delivers to every connection of a user, and to the others of the caller", async () => {
    start();
    const ann = await host.connect(ChatHub, { user: { sub: "ann" } });
    const bobOnPhone = await host.connect(ChatHub, { user: { sub: "bob" } });
    const bobOnLaptop = await host.connect(ChatHub, { user: { sub: "bob" } });
    await ann.hub.whisper("bob", "psst");
    expect(await bobOnPhone.next("message")).toEqual(["ann", "psst"]);
    expect(await bobOnLaptop.next("message")).toEqual(["ann", "psst"]);
    await bobOnPhone.hub.announce("hi all");
    expect(await ann.next("notice")).toEqual(["hi all"]);
    expect(await bobOnLaptop.next("notice")).toEqual(["hi all"]);
    expect(ann.received).toEqual([{ method: "notice", args: ["hi all"] }]);
    expect(bobOnPhone.received).toEqual([{ method: "message", args: ["ann", "psst"] }]);
  });

  it("next() returns a message that arrived before it was called, each message once", async () => {
    start();
    const client = await host.connect(ChatHub);
    const context = host.hubContext(ChatHub);
    await context.clients.all.notice("first");
    await context.clients.all.notice("second");
    const [first, second] = await Promise.all([client.next("notice"), client.next("notice")]);
    expect([first, second]).toEqual([["first"], ["second"]]);
    await context.clients.all.notice("third");
    expect(await client.next("notice")).toEqual(["third"]);
  });

  it("next() fails with ERR_NOT_RECEIVED, naming what did arrive, when its timeout passes or the connection closes", async () => {
    start();
    const client = await host.connect(ChatHub, { name: "ann" });
    await host.hubContext(ChatHub).clients.all.notice("only this");
    await expect(client.next("message", { timeoutMs: 50 })).rejects.toMatchObject({
      code: "ERR_NOT_RECEIVED",
      message: "ann received no 'message' within 50 ms; it received notice.",
    });
    const waiting = client.next("message");
    await client.hub.kick().catch(() => {});
    await expect(waiting).rejects.toMatchObject({ code: "ERR_NOT_RECEIVED", message: expect.stringContaining("ann's connection closed") });
  });

  it("answers a client result with the test's answer, and the hub hears a thrown one as an error", async () => {
    start();
    const client = await host.connect(ChatHub);
    const remove = client.answer("confirm", (question) => question.endsWith("?"));
    expect(await client.hub.ask("Delete?")).toBe("confirmed");
    expect(await client.hub.ask("Delete!")).toBe("declined");
    expect(client.received.map((m) => m.method)).toEqual(["confirm", "confirm"]);
    remove();
    client.answer("confirm", () => {
      throw new Error("no way");
    });
    await expect(client.hub.ask("Delete?")).rejects.toThrow("An unexpected error occurred invoking 'Ask' on the server.");
  });
});

describe("TestHost: streams", () => {
  it("streams from the hub, typed by the method's async iterable", async () => {
    start();
    const client = await host.connect(ChatHub);
    const items: number[] = [];
    for await (const n of client.hub.countdown(3)) items.push(n);
    expect(items).toEqual([3, 2, 1]);
  });

  it("cancels a stream the client stops reading, and the hub's signal aborts", async () => {
    start();
    const client = await host.connect(ChatHub);
    const items: number[] = [];
    for await (const n of client.hub.ticks()) {
      items.push(n);
      if (items.length === 3) break;
    }
    expect(items).toEqual([0, 1, 2]);
    await waitFor(() => events.includes("ticks stopped"), () => `the stream to stop; saw ${events.join(", ")}`);
  });

  it("uploads a stream to the hub", async () => {
    start();
    const client = await host.connect(ChatHub);
    async function* numbers() {
      yield 1;
      yield 2;
      yield 3;
    }
    expect(await client.hub.sum(numbers())).toBe(6);
  });

  it("cancels an invocation through withSignal", async () => {
    start();
    const client = await host.connect(ChatHub);
    const abort = new AbortController();
    abort.abort(new Error("not wanted"));
    await expect(client.connection.invoke("Countdown", 1, withSignal(abort.signal))).rejects.toThrow("not wanted");
  });
});

describe("TestHost: connections", () => {
  it("ends a connection the hub closes with the error the client is given", async () => {
    start();
    const client = await host.connect(ChatHub, { user: { sub: "ann" } });
    await client.hub.kick().catch(() => {});
    expect((await client.closed)?.message).toBe("Server returned an error on close: Kicked out.");
    // `closed` waits for the hub's side of the end too.
    expect(events).toEqual(["connected ann", "disconnected ann"]);
  });

  it("runs onDisconnected without an error when a client stops, and for every client when the host closes", async () => {
    start();
    const ann = await host.connect(ChatHub, { user: { sub: "ann" } });
    const bob = await host.connect(ChatHub, { user: { sub: "bob" } });
    await ann.stop();
    expect(await ann.closed).toBeUndefined();
    expect(events).toEqual(["connected ann", "connected bob", "disconnected ann"]);
    await host.close();
    expect(events).toContain("disconnected bob");
    expect(await bob.closed).toBeUndefined();
    expect(bob.connection.state).toBe("Disconnected");
  });

  it("disconnects every client between tests, with their groups, and connects new ones after", async () => {
    start();
    const ann = await host.connect(ChatHub, { user: { sub: "ann" } });
    await ann.hub.join("lobby");
    await host.disconnectAll();
    expect(events).toEqual(["connected ann", "disconnected ann"]);
    expect(ann.connection.state).toBe("Disconnected");
    const bob = await host.connect(ChatHub, { user: { sub: "bob" } });
    await bob.hub.send("lobby", "anyone?");
    await host.hubContext(ChatHub).clients.all.notice("end");
    await bob.next("notice");
    expect(bob.received).toEqual([{ method: "notice", args: ["end"] }]);
  });

  it("fails to connect, as hubwire's client does, with a protocol the hub does not take", async () => {
    start({}, { protocols: ["json"] });
    await expect(host.connect(ChatHub, { protocol: "messagepack" })).rejects.toMatchObject({
      code: "ERR_HANDSHAKE",
      message: "Server returned handshake error: The protocol 'messagepack' is not supported.",
    });
    expect(events).toEqual([]);
  });

  it("refuses a hub that is not mapped, and any connection once closed", async () => {
    start();
    await expect(host.connect("/nowhere")).rejects.toMatchObject({ code: "ERR_HUB_NOT_MAPPED" });
    await host.close();
    await expect(host.connect(ChatHub)).rejects.toMatchObject({ code: "ERR_SERVER_CLOSED" });
  });

  it("delivers messages while the test's timers are fake", async () => {
    start();
    vi.useFakeTimers();
    try {
      const client = await host.connect(ChatHub, { user: { sub: "ann" } });
      expect(await client.hub.greet("ann")).toBe("hello ann");
      await host.hubContext(ChatHub).clients.all.notice("tick");
      expect(await client.next("notice")).toEqual(["tick"]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("gives each connection the id the hub sees", async () => {
    start();
    const client = await host.connect(ChatHub);
    await host.hubContext(ChatHub).clients.client(client.connectionId).notice("just you");
    expect(await client.next("notice")).toEqual(["just you"]);
  });
});
