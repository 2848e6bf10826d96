import { Subject, VERSION } from "@microsoft/signalr";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { within } from "../support/wait.js";
import { closed, collect, InteropHarness, nextCall, serverKind, setups } from "./fixture.js";

const complex = {
  String: "hello world",
  IntArray: [1, 2, 3],
  ByteArray: new Uint8Array([1, 2, 3]),
  Guid: "00010203-0405-0607-0706-050403020100",
  DateTime: new Date(Date.UTC(2000, 0, 1)),
};

declare module "vitest" {
  export interface ProvidedContext {
    /** The official client this project runs the suites with (vitest.config.ts). */
    officialClientVersion: string;
  }
}

it("runs with the official client its project names", () => {
  expect(VERSION).toBe(inject("officialClientVersion"));
});

describe.each(setups)("TestHub with the official client over $name", (setup) => {
  const harness = new InteropHarness();
  beforeEach(() => harness.start());
  afterEach(() => harness.stop());
  const connect = () => harness.connect("/testhub", setup);

  it("echoes, and knows its transport and connection id", async () => {
    const client = await connect();
    expect(await client.invoke("Echo", "hello")).toBe("hello");
    expect(await client.invoke("echo", "case-insensitive")).toBe("case-insensitive");
    expect(await client.invoke("GetActiveTransportName")).toBe(setup.transportName);
    const id = await client.invoke<string>("GetCallerConnectionId");
    expect(id).toMatch(/^[\w-]{22}$/);
    if (!setup.skipNegotiation) expect(id).toBe(client.connectionId);
  });

  it("reports errors with the exact texts", async () => {
    const client = await connect();
    await expect(client.invoke("ThrowException", "An error occurred.")).rejects.toThrow(
      "An unexpected error occurred invoking 'ThrowException' on the server. InvalidOperationException: An error occurred.",
    );
    await expect(client.invoke("NoSuchMethod")).rejects.toThrow(
      "Failed to invoke 'NoSuchMethod' due to an error on the server. HubException: Method does not exist.",
    );
    await expect(client.invoke("Echo", "a", "b")).rejects.toThrow(
      "Failed to invoke 'Echo' due to an error on the server. InvalidDataException: Invocation provides 2 argument(s) but target expects 1.",
    );
    await expect(client.invoke("Stream")).rejects.toThrow(
      "The client attempted to invoke the streaming 'Stream' method with a non-streaming invocation.",
    );
    await expect(collect(client.stream("Echo", "x"))).rejects.toThrow(
      "The client attempted to invoke the non-streaming 'Echo' method with a streaming invocation.",
    );
    expect(await client.invoke("Echo", "still connected")).toBe("still connected");
  });

  it("calls the caller back, completes a void method with null, and sends without waiting", async () => {
    const client = await connect();
    const message = nextCall(client, "Message");
    // A method that returns nothing completes with result null, as a .NET void method does.
    expect(await client.invoke("InvokeWithString", "hi")).toBeNull();
    expect(await message).toEqual(["hi"]);
    const custom = nextCall(client, "CustomObject");
    await client.invoke("SendCustomObject", { Name: "n", Value: 1 });
    expect(await custom).toEqual([{ Name: "n", Value: 1 }]);
    expect(await client.invoke("GetHeader", "x-not-sent")).toBeNull();
    const viaSend = nextCall(client, "Message");
    await client.send("InvokeWithString", "fire and forget");
    expect(await viaSend).toEqual(["fire and forget"]);
  });

  it("carries dates and bytes the .NET way", async () => {
    const client = await connect();
    // In JSON, bytes are base64 and dates ISO strings, as a typed .NET hub reads and writes them.
    const expected = setup.messagePack ? complex : { ...complex, ByteArray: "AQID", DateTime: "2000-01-01T00:00:00Z" };
    expect(await client.invoke("SendComplexObject")).toEqual(expected);
    expect(await client.invoke("EchoComplexObject", expected)).toEqual(expected);
  });

  it("streams to the client: items, empty, an error before the stream", async () => {
    const client = await connect();
    expect(await collect(client.stream("Stream"))).toEqual(["a", "b", "c"]);
    expect(await collect(client.stream("EmptyStream"))).toEqual([]);
    await expect(collect(client.stream("StreamThrowException", "An error occurred."))).rejects.toThrow(
      "An unexpected error occurred invoking 'StreamThrowException' on the server. InvalidOperationException: An error occurred.",
    );
  });

  it("cancels a stream when its subscriber disposes", async () => {
    const client = await connect();
    const canceled = nextCall(client, "StreamCanceled");
    const subscription = client.stream("InfiniteStream").subscribe({ next() {}, complete() {}, error() {} });
    subscription.dispose(); // the hub answers a cancel however early it comes, as .NET's does
    expect(await canceled).toEqual([]);
    expect(await client.invoke("Echo", "after cancel")).toBe("after cancel");
  });

  it("receives uploads, completed or failed", async () => {
    const client = await connect();
    const subject = new Subject<string>();
    const result = client.invoke("StreamingConcat", subject);
    for (const item of ["a", "b", "c"]) subject.next(item);
    subject.complete();
    expect(await result).toBe("abc");
    const failing = new Subject<string>();
    const failed = client.invoke("StreamingConcat", failing);
    failing.next("x");
    failing.error(new Error("Something bad"));
    await expect(failed).rejects.toThrow(
      "An unexpected error occurred invoking 'StreamingConcat' on the server. HubException: Something bad",
    );
  });

  it("answers client results: a value, a thrown error, no handler", async () => {
    const client = await connect();
    const id = await client.invoke<string>("GetCallerConnectionId");
    const ask = async () => (await fetch(`${harness.url}/clientresult/${id}`)).text();
    expect(await ask()).toMatch(/didn't provide a result/);
    client.on("Result", () => 10);
    expect(await ask()).toBe("10");
    client.off("Result");
    client.on("Result", () => {
      throw new Error("from callback");
    });
    expect(await ask()).toBe("Error: from callback");
  });

  it("is told when the server shuts down", async () => {
    const client = await connect();
    const end = closed(client);
    await harness.server.close();
    if (serverKind() === "aspnetcore" && setup.transportName === "WebSockets") {
      // ASP.NET Core may end its WebSockets at shutdown without a close frame; hubwire closes them.
      expect([undefined, "WebSocket closed with status code: 1006 (no reason given)."]).toContain((await end)?.message);
    } else if (serverKind() === "aspnetcore" && setup.transportName === "LongPolling") {
      // ASP.NET Core may forget the connection at shutdown before its client's next poll
      // arrives, which then gets 404; hubwire answers the poll that is waiting and ends it.
      expect([undefined, "Not Found: Status code '404'"]).toContain((await end)?.message);
    } else {
      expect(await end).toBeUndefined();
    }
  });
});

describe.each(setups.filter((s) => !s.skipNegotiation))("negotiated connections over $name", (setup) => {
  const harness = new InteropHarness();
  beforeEach(() => harness.start());
  afterEach(() => harness.stop());

  it("see the cookies that negotiate set, on the connection's own request", async () => {
    const client = await harness.connect("/testhub", setup);
    expect(await client.invoke("GetCookie", "testCookie")).toBe("testValue");
    expect(await client.invoke("GetCookie", "testCookie2")).toBe("testValue2");
    expect(await client.invoke("GetCookie", "expiredCookie")).toBeNull();
  });

  it("delivers a one-megabyte result whole", async () => {
    const client = await harness.connect("/interophub", setup);
    const big = await within(client.invoke<string>("Big", 1_000_000), "Big(1000000)", 10_000);
    expect(big.length).toBe(1_000_000);
    expect(big).toBe("x".repeat(1_000_000));
  });

  it("stops promptly", async () => {
    const client = await harness.connect("/interophub", setup);
    await within(client.stop(), "stop() to complete");
  });
});
