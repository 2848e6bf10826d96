import { LogLevel, TransferFormat } from "@microsoft/signalr";
// The official client does not export its raw HttpConnection from the package root.
import { HttpConnection } from "@microsoft/signalr/dist/esm/HttpConnection.js";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type LogFields } from "../../src/index.js";
import { transportLog } from "../../src/transports/transport-log.js";
import { waitFor } from "../support/wait.js";
import { negotiate, send } from "./http-client.js";

@HubClass()
class NoopHub extends Hub {
  @HubMethod("Noop")
  noop(): void {}
}

describe("CORS", () => {
  let server: HubServer | undefined;
  let base = "";
  afterEach(() => server?.close());

  async function start(allowedOrigins?: string[]): Promise<void> {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/hub", NoopHub, allowedOrigins ? { allowedOrigins } : {});
    base = (await server.listen()).url;
  }

  const preflight = (origin: string) =>
    send(`${base}/hub/negotiate?negotiateVersion=1`, "OPTIONS", {
      headers: {
        Origin: origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,x-requested-with,x-signalr-user-agent",
      },
    });

  it("answers a preflight from a listed origin, with credentials", async () => {
    await start(["http://app.example"]);
    const reply = await preflight("http://app.example");
    expect(reply.status).toBe(204);
    expect(reply.headers).toMatchObject({
      "access-control-allow-origin": "http://app.example",
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "GET, POST, DELETE",
      "access-control-allow-headers": "authorization,x-requested-with,x-signalr-user-agent",
      vary: "Origin",
    });
    const negotiated = await send(`${base}/hub/negotiate?negotiateVersion=1`, "POST", { headers: { Origin: "http://app.example" } });
    expect(negotiated.status).toBe(200);
    expect(negotiated.headers["access-control-allow-origin"]).toBe("http://app.example");
    expect(negotiated.headers["access-control-allow-credentials"]).toBe("true");
  });

  it("refuses other origins on negotiate, preflight, polls and sends", async () => {
    await start(["http://app.example"]);
    const token = await negotiate(`${base}/hub`);
    for (const reply of [
      await preflight("http://evil.example"),
      await send(`${base}/hub/negotiate?negotiateVersion=1`, "POST", { headers: { Origin: "http://evil.example" } }),
      await send(`${base}/hub?id=${token}`, "GET", { headers: { Origin: "http://evil.example" } }),
      await send(`${base}/hub?id=${token}`, "POST", { headers: { Origin: "http://evil.example" } }),
    ]) {
      expect([reply.status, reply.text]).toEqual([403, "Origin not allowed"]);
      expect(reply.headers["access-control-allow-origin"]).toBeUndefined();
    }
  });

  it("lets the server's own origin and non-browser clients through without CORS headers", async () => {
    await start();
    const own = await send(`${base}/hub/negotiate?negotiateVersion=1`, "POST", { headers: { Origin: base } });
    expect(own.status).toBe(200);
    expect(own.headers["access-control-allow-origin"]).toBeUndefined();
    expect((await send(`${base}/hub/negotiate?negotiateVersion=1`, "POST")).status).toBe(200);
    expect((await send(`${base}/hub/negotiate?negotiateVersion=1`, "POST", { headers: { Origin: "http://other.example" } })).status).toBe(403);
  });

  it("admits any origin with '*', without credentials", async () => {
    await start(["*"]);
    const reply = await send(`${base}/hub/negotiate?negotiateVersion=1`, "POST", { headers: { Origin: "http://anyone.example" } });
    expect(reply.status).toBe(200);
    expect(reply.headers["access-control-allow-origin"]).toBe("http://anyone.example");
    expect(reply.headers["access-control-allow-credentials"]).toBeUndefined();
  });
});

describe("raw connection endpoints", () => {
  let server: HubServer | undefined;
  let base = "";
  afterEach(() => server?.close());

  async function start(): Promise<void> {
    server = new HubServer({ logger: silentLogger });
    server.mapConnection("/echo", (connection) => connection.onData((data) => connection.send(data)));
    server.mapConnection("/throws", (connection) =>
      connection.onData(() => {
        throw new Error("listener bug");
      }),
    );
    base = (await server.listen()).url;
  }

  it.each([
    ["WebSockets", 1],
    ["Server-Sent Events", 2],
    ["long polling", 4],
  ])("echoes over %s with the official HttpConnection", async (_name, transport) => {
    await start();
    const connection = new HttpConnection(`${base}/echo`, { transport, logger: LogLevel.None });
    const received = new Promise<unknown>((resolve) => (connection.onreceive = resolve));
    await connection.start(TransferFormat.Text);
    await connection.send("no handshake, no protocol");
    expect(await received).toBe("no handshake, no protocol");
    await connection.stop();
  });

  it("echoes text as text and binary as binary on a raw WebSocket, and closes it with 1000", async () => {
    await start();
    const socket = new WebSocket(`${base.replace("http", "ws")}/echo`);
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const frames: Array<[boolean, string]> = [];
    socket.on("message", (data: Buffer, isBinary) => frames.push([isBinary, data.toString("hex")]));
    socket.send("hi");
    socket.send(Buffer.from([1, 2, 255]));
    const closed = new Promise<number>((resolve) => socket.once("close", resolve));
    await waitFor(() => frames.length === 2, "both echoes");
    expect(frames).toEqual([
      [false, Buffer.from("hi").toString("hex")],
      [true, "0102ff"],
    ]);
    await server!.close();
    expect(await closed).toBe(1000);
  });

  it("hands on a long-polling send that is not UTF-8 as its bytes", async () => {
    await start();
    const url = `${base}/echo?id=${await negotiate(`${base}/echo`)}`;
    await send(url, "GET"); // the first poll comes back at once
    const poll = send(url, "GET");
    await send(url, "POST", { body: Buffer.from([0x68, 0xff, 0x69]), headers: { "Content-Type": "text/plain;charset=UTF-8" } });
    expect((await poll).body.toString("hex")).toBe("68ff69");
  });

  it("costs a throwing listener only its own connection", async () => {
    await start();
    const bad = new WebSocket(`${base.replace("http", "ws")}/throws`);
    await new Promise((resolve, reject) => bad.once("open", resolve).once("error", reject));
    const badClosed = new Promise<number>((resolve) => bad.once("close", resolve));
    bad.send("boom");
    expect(await badClosed).not.toBe(1000);
    const connection = new HttpConnection(`${base}/echo`, { transport: 1, logger: LogLevel.None });
    const received = new Promise<unknown>((resolve) => (connection.onreceive = resolve));
    await connection.start(TransferFormat.Text);
    await connection.send("fine");
    expect(await received).toBe("fine");
    await connection.stop();
  });

  it("logs a close listener that throws, forgets its connection, and serves the others", async () => {
    const errors: Array<{ message: string; fields?: LogFields }> = [];
    server = new HubServer({ logger: { debug() {}, info() {}, warn() {}, error: (message, fields) => void errors.push({ message, fields }) } });
    server.mapConnection("/echo", (connection) => {
      connection.onData((data) => connection.send(data));
      connection.onClose(() => {
        throw new Error("close listener bug");
      });
    });
    base = (await server.listen()).url;
    // vitest would report it as an error of the whole run, pinned on whichever test ran last.
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => void uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      const open = async () => {
        const socket = new WebSocket(`${base.replace("http", "ws")}/echo`);
        await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
        return socket;
      };
      const leaving = await open();
      const staying = await open();
      leaving.close();
      await waitFor(() => server!.connectionCount === 1, () => `the closed connection to be forgotten; ${server!.connectionCount} held`);
      expect(errors.map((e) => [e.message, (e.fields?.error as Error).message])).toEqual([[transportLog.rawListenerThrew.message, "close listener bug"]]);
      const echoed = new Promise<string>((resolve) => staying.once("message", (data) => resolve(String(data))));
      staying.send("still here");
      expect(await echoed).toBe("still here");
      expect(uncaught).toEqual([]);
    } finally {
      process.off("uncaughtException", onUncaught);
    }
  });
});
