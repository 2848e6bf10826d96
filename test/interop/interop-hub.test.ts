import { HttpTransportType, Subject, type HubConnection } from "@microsoft/signalr";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { signToken } from "../../samples/interop-server/jwt.js";
import { waitFor, within } from "../support/wait.js";
import { closed, collect, InteropHarness, serverKind, setups } from "./fixture.js";

const webSocketJson = setups[0]!;

describe.each(setups)("InteropHub over $name", (setup) => {
  const harness = new InteropHarness();
  beforeEach(() => harness.start());
  afterEach(() => harness.stop());

  it("fails a call with a wrong argument count, not the connection, and counts calls once", async () => {
    const client = await harness.connect("/interophub", setup);
    expect(await client.invoke("Add", 2, 3)).toBe(5);
    await expect(client.invoke("Add", 1)).rejects.toThrow(
      "Failed to invoke 'Add' due to an error on the server. InvalidDataException: Invocation provides 1 argument(s) but target expects 2.",
    );
    await expect(client.invoke("ThrowHubException", "nope")).rejects.toThrow(
      "An unexpected error occurred invoking 'ThrowHubException' on the server. HubException: nope",
    );
    expect(await client.invoke("CallCount")).toBe(3); // Add, ThrowHubException, CallCount
  });

  it("awaits a client result from its own caller without deadlock", async () => {
    const client = await harness.connect("/interophub", setup);
    client.on("Result", () => 7);
    expect(await within(client.invoke("AskCaller"), "AskCaller")).toBe(7);
  });

  it("streams a counter, and cancels it", async () => {
    const client = await harness.connect("/interophub", setup);
    expect(await collect(client.stream("Counter", 5, 0))).toEqual([0, 1, 2, 3, 4]);
    const seen: number[] = [];
    const subscription = client.stream<number>("Counter", 1000, 20).subscribe({ next: (n) => seen.push(n), complete() {}, error() {} });
    await waitFor(() => seen.length >= 2, "two counter items");
    subscription.dispose();
    expect(await client.invoke("Add", 1, 1)).toBe(2);
    expect(seen.length).toBeLessThan(1000);
  });

  it("sums an upload", async () => {
    const client = await harness.connect("/interophub", setup);
    const numbers = new Subject<number>();
    const sum = client.invoke("UploadSum", numbers);
    for (let i = 1; i <= 100; i++) numbers.next(i);
    numbers.complete();
    expect(await sum).toBe(5050);
  });

  it("closes the connection on request, with the error and allowReconnect given", async () => {
    const client = await harness.connect("/interophub", setup);
    const end = closed(client);
    await client.send("CloseMe", "Going away", false);
    expect((await end)?.message).toBe("Server returned an error on close: Going away");
  });
});

describe("InteropHub routing with several live connections", () => {
  const harness = new InteropHarness();
  beforeEach(() => harness.start());
  afterEach(() => harness.stop());

  interface Peer {
    client: HubConnection;
    id: string;
    received: string[];
  }

  async function peers(users: string[]): Promise<Peer[]> {
    return Promise.all(
      users.map(async (user) => {
        const client = harness.build(`/interophub?user=${user}`, webSocketJson);
        const received: string[] = [];
        client.on("Received", (route: string, message: string) => received.push(`${route}:${message}`));
        await client.start();
        return { client, id: client.connectionId!, received };
      }),
    );
  }

  /** Sends a marker to all after `action`; once everyone has it, earlier sends have arrived too. */
  async function settle(all: Peer[], action: () => Promise<unknown>): Promise<string[][]> {
    for (const peer of all) peer.received.length = 0;
    await action();
    await all[0]!.client.invoke("SendToAll", "marker");
    await waitFor(() => all.every((p) => p.received.some((r) => r.endsWith(":marker"))), "the marker to reach everyone");
    return all.map((p) => p.received.filter((r) => !r.endsWith(":marker")).map((r) => r.split(":")[1]!));
  }

  it("routes to all, others, caller, connections, users and all-except", async () => {
    const all = await peers(["ann", "bob", "bob", "cat"]);
    const [a, b1, b2, c] = all as [Peer, Peer, Peer, Peer];
    expect(await settle(all, () => a.client.invoke("SendToAll", "all"))).toEqual([["all"], ["all"], ["all"], ["all"]]);
    expect(await settle(all, () => a.client.invoke("SendToOthers", "others"))).toEqual([[], ["others"], ["others"], ["others"]]);
    expect(await settle(all, () => a.client.invoke("SendToConnection", c.id, "one"))).toEqual([[], [], [], ["one"]]);
    expect(await settle(all, () => a.client.invoke("SendToConnections", [a.id, b2.id], "two"))).toEqual([["two"], [], ["two"], []]);
    expect(await settle(all, () => c.client.invoke("SendToUser", "bob", "bob"))).toEqual([[], ["bob"], ["bob"], []]);
    expect(await settle(all, () => c.client.invoke("SendToUsers", ["ann", "cat"], "users"))).toEqual([["users"], [], [], ["users"]]);
    expect(await settle(all, () => a.client.invoke("SendToAllExcept", "except", [b1.id, c.id]))).toEqual([["except"], [], ["except"], []]);
    expect(await a.client.invoke("GetUserIdentifier")).toBe("ann");
  });

  it("routes to groups, several groups, a group except some, and others in a group", async () => {
    const all = await peers(["ann", "bob", "cat", "dan"]);
    const [a, b, c, d] = all as [Peer, Peer, Peer, Peer];
    for (const peer of [a, b, c]) await peer.client.invoke("AddToGroup", "red");
    await d.client.invoke("AddToGroup", "blue");
    await c.client.invoke("AddToGroup", "blue");
    expect(await settle(all, () => d.client.invoke("SendToGroup", "red", "red"))).toEqual([["red"], ["red"], ["red"], []]);
    // c is in both groups: hubwire sends it the message once, ASP.NET Core once per group.
    const inBoth = serverKind() === "hubwire" ? ["both"] : ["both", "both"];
    expect(await settle(all, () => a.client.invoke("SendToGroups", ["red", "blue"], "both"))).toEqual([["both"], ["both"], inBoth, ["both"]]);
    expect(await settle(all, () => d.client.invoke("SendToGroupExcept", "red", "ex", [b.id]))).toEqual([["ex"], [], ["ex"], []]);
    expect(await settle(all, () => a.client.invoke("SendToOthersInGroup", "red", "oth"))).toEqual([[], ["oth"], ["oth"], []]);
    await b.client.invoke("RemoveFromGroup", "red");
    expect(await settle(all, () => d.client.invoke("SendToGroup", "red", "after"))).toEqual([["after"], [], ["after"], []]);
    // A connection that leaves leaves its groups.
    await a.client.stop();
    const rest = [b, c, d];
    expect(await settle(rest, () => d.client.invoke("SendToGroup", "red", "gone"))).toEqual([[], ["gone"], []]);
  });
});

describe("authentication and other endpoints", () => {
  const harness = new InteropHarness();
  beforeEach(() => harness.start());
  afterEach(() => harness.stop());

  it.each(setups.filter((s) => !s.skipNegotiation))("accepts a valid token over $name", async (setup) => {
    const token = await (await fetch(`${harness.url}/generateJwtToken`)).text();
    const client = await harness.connect("/authorizedhub", setup, { accessTokenFactory: () => token });
    expect(await client.invoke("Echo", "secret")).toBe("secret");
    expect(await client.invoke("GetUserIdentifier")).toBe("testuser");
  });

  it("refuses a missing and an expired token with 401", async () => {
    const expected = "Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'";
    await expect(harness.build("/authorizedhub", webSocketJson).start()).rejects.toThrow(expected);
    const expired = signToken("testuser", -10);
    await expect(harness.build("/authorizedhub", webSocketJson, { accessTokenFactory: () => expired }).start()).rejects.toThrow(expected);
    const response = await fetch(`${harness.url}/authorizedhub/negotiate?negotiateVersion=1`, { method: "POST" });
    expect([response.status, await response.text()]).toEqual([401, ""]);
  });

  it("closes a connection whose hub cannot be created, without asking it to reconnect", async () => {
    // The Close comes right after the handshake: start() fails with it, or resolves and the
    // connection closes with it (ASP.NET Core sends both in one frame).
    const client = harness.build("/uncreatable", webSocketJson);
    const end = closed(client);
    end.catch(() => {});
    const error = await client.start().then(() => end, (failure: Error) => failure);
    const name = serverKind() === "hubwire" ? "ServiceNotFoundError" : "InvalidOperationException";
    expect(error?.message).toMatch(new RegExp(`^Server returned an error on close: Connection closed with an error\\. ${name}: `));
  });

  it("follows negotiate redirects to a path of another case", async () => {
    const client = harness.build(`/redirect?baseUrl=${encodeURIComponent(harness.url)}`, webSocketJson);
    await client.start();
    expect(await client.invoke("GetNumRedirects")).toBeGreaterThan(0);
  });

  it("falls back to Server-Sent Events where WebSockets are not offered", async () => {
    const client = await harness.connect("/testhub-nowebsockets", { ...webSocketJson, transport: HttpTransportType.None as never });
    expect(await client.invoke("GetActiveTransportName")).toBe("ServerSentEvents");
  });
});
