import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor, within } from "../support/wait.js";
import { lifecycle, startMuxServer, type MuxServer } from "./mux-hubs.js";
import { rawClient } from "./raw-mux-client.js";

// The physical connection keeps its hubs alive: it pings, and it times out a silent client for
// all of them, while the hubs on it neither ping nor time out on their own.
describe("the keep-alive of a multiplexed connection", () => {
  let mux: MuxServer;

  beforeEach(async () => {
    lifecycle.length = 0;
    mux = await startMuxServer({ keepAliveInterval: 100, clientTimeoutInterval: 400 }, { keepAliveInterval: 100, clientTimeoutInterval: 400 });
  });

  afterEach(async () => {
    await mux.server.close();
  });

  it("pings on the control channel, and a client that pings keeps every hub open past the client timeout", async () => {
    const client = await rawClient(mux, false);
    await client.open(1, "/news");
    await client.open(2, "/game");
    const pinger = setInterval(() => client.ping(), 50);
    try {
      const hubData = client.data.length;
      // Ten server pings: a second, more than twice the client timeout, with the hubs silent.
      await waitFor(() => client.pings >= 10, "ten pings from the server");
      expect(client.data.length).toBe(hubData); // the hubs sent no pings of their own
      expect(lifecycle.some((e) => e.includes("disconnected"))).toBe(false);
    } finally {
      clearInterval(pinger);
    }
    client.socket.close();
  });

  it("closes a silent client's connection, and every hub on it, after the client timeout", async () => {
    const client = await rawClient(mux, true);
    await client.open(1, "/news");
    await client.open(2, "/game");
    expect(await within(client.closed, "the server to close the silent connection")).toBe(1000);
    await waitFor(() => lifecycle.filter((e) => e.includes("disconnected mallory")).length === 2, "both hubs' onDisconnected");
  });
});

describe("the send buffer of a multiplexed connection", () => {
  let mux: MuxServer;

  beforeEach(async () => {
    lifecycle.length = 0;
    mux = await startMuxServer({}, { maximumSendBufferSize: 64 * 1024 });
  });

  afterEach(async () => {
    await mux.server.close();
  });

  it("fails the hub that writes to a client that stopped reading, and nobody else's", async () => {
    const client = await rawClient(mux, false);
    await client.open(1, "/news");
    await client.open(2, "/game");
    const bystander = await rawClient(mux, false, "bob");
    await bystander.open(1, "/news");
    client.socket.pause(); // the client stops reading: what the server sends piles up
    const text = "x".repeat(16 * 1024);
    const sendFrame = (n: number) => `{"type":1,"invocationId":"${n}","target":"TellUser","arguments":["mallory","${text}"]}\u001e`;
    let sent = 0;
    // The bystander's calls fill the paused client's buffer until its news hub is dropped.
    while (!lifecycle.includes("news disconnected mallory")) {
      if (sent > 10_000) throw new Error("the send buffer never filled");
      bystander.send(`1,${sendFrame(sent).length};${sendFrame(sent)}`);
      sent++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(lifecycle).not.toContain("game disconnected mallory"); // it wrote nothing: it goes on
    expect(lifecycle.filter((e) => e.includes("disconnected"))).toEqual(["news disconnected mallory"]);
    client.socket.terminate();
    bystander.socket.close();
  });
});
