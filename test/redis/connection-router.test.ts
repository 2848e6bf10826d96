import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LogWriter, type LogFields, type Logger } from "../../src/logger.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { ConnectionRegistry } from "../../src/transports/connection-registry.js";
import { ConnectionRequest } from "../../src/transports/connection-request.js";
import { ConnectionRouter } from "../../src/transports/connection-router.js";
import type { ForwardedBody } from "../../src/transports/forwarded-body.js";
import type { ForwardedReply } from "../../src/transports/forwarded-reply.js";
import { replyText } from "../../src/transports/http-replies.js";
import type { RoutedRequest } from "../../src/transports/routed-messages.js";
import type { TransportConnection } from "../../src/transports/transport-connection.js";
import { readBodyInPieces } from "../../src/transports/body-pieces.js";
import { frameBinaryRecord } from "../../src/protocol/binary-framing.js";
import { send } from "../http-transports/http-client.js";
import { seededRandom } from "../robustness/mutations.js";
import { PausableConnection } from "../support/piece-reader.js";
import { startOwnRedis, type OwnRedis } from "../support/redis.js";
import { waitFor, within } from "../support/wait.js";

const unbounded = { maxBufferedBytes: Infinity, maxNegotiatedConnections: Infinity };

type Serve = (connection: TransportConnection, request: RoutedRequest, reply: ForwardedReply, body?: ForwardedBody) => Promise<void>;

/** The codes of the errors logged, in order. */
function recordingLogger(codes: string[]): Logger {
  const record = (_message: string, fields?: LogFields) => {
    const code = (fields?.error as { code?: string } | undefined)?.code;
    if (code) codes.push(code);
  };
  return { debug: record, info: record, warn: record, error: record };
}

/**
 * Two servers' routers on a Redis of the test's own: server A's HTTP requests are for a
 * connection that server B holds, so each is forwarded to B, which serves it with `serve`.
 */
describe("ConnectionRouter: forwarded requests and their bounds", () => {
  let redis: OwnRedis;
  let cleanup: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    redis = await startOwnRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
    await redis.start();
  });

  async function startPair(options: { serve: Serve; timeoutMs?: number; maxForwards?: number; maxForwardedBytes?: number }) {
    const codes: string[] = [];
    const log = LogWriter.for(recordingLogger(codes));
    const router = (backplane: RedisBackplane, registry: ConnectionRegistry, serve: Serve) =>
      new ConnectionRouter({
        channels: backplane,
        path: "/hub",
        registry,
        serve,
        timeoutMs: options.timeoutMs ?? 10_000,
        maxForwards: options.maxForwards ?? 100,
        maxForwardedBytes: options.maxForwardedBytes ?? 1024 * 1024,
        log,
      });
    const [backplaneA, backplaneB] = [0, 1].map(() => new RedisBackplane({ url: redis.url, logger: recordingLogger(codes) }));
    const [registryA, registryB] = [new ConnectionRegistry(60_000, unbounded), new ConnectionRegistry(60_000, unbounded)];
    const routerA = router(backplaneA!, registryA, () => Promise.reject(new Error("A holds nothing")));
    const routerB = router(backplaneB!, registryB, options.serve);
    registryB.onForget = (connection) => routerB.release(connection);
    const held = registryB.create(true);
    held.state = "active"; // its transport runs on B: requests are served there, never moved
    await routerB.hold(held);

    const server: Server = createServer((req, res) => {
      const request = new ConnectionRequest(req);
      const token = request.param("id")!;
      if (req.method === "POST") void routerA.sendElsewhere(req, res, request, token, 1024);
      else void routerA.serveElsewhere(res, request, token, req.method as "GET" | "DELETE");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
      () => backplaneA!.close(),
      () => backplaneB!.close(),
      () => held.close(),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hub?id=`;
    return { at: url + held.connectionToken, nobody: url + "nobody", codes, holder: routerB };
  }

  it("writes the response of the server that holds the connection, and 404 at once when no server holds it", async () => {
    const { at, nobody } = await startPair({ serve: async (_c, request, reply) => replyText(reply, 200, `served ${request.method}`) });
    for (const method of ["GET", "POST", "DELETE"]) expect((await send(at, method)).text).toBe(`served ${method}`);
    expect((await send(nobody, "GET")).status).toBe(404);
  });

  it("answers 504 and logs ERR_FORWARD_TIMEOUT when the holder does not answer in time", async () => {
    const { at, codes } = await startPair({ serve: () => new Promise(() => {}), timeoutMs: 300 });
    const reply = await send(at, "POST");
    expect([reply.status, reply.text]).toEqual([504, "The connection's server did not answer in time."]);
    expect(codes).toEqual(["ERR_FORWARD_TIMEOUT"]);
  });

  it("answers 503 past its bound of requests in flight, and tells the holder when a client leaves", async () => {
    const left: Array<Promise<void>> = [];
    const { at, codes } = await startPair({
      serve: async (_c, _request, reply) => void left.push(new Promise((resolve) => reply.on("close", resolve))),
      maxForwards: 1,
    });
    const waiting = new AbortController();
    const first = fetch(at, { signal: waiting.signal }).catch(() => "aborted");
    await waitFor(() => left.length === 1, "the first request to reach its holder");

    const refused = await send(at, "GET");
    expect([refused.status, refused.text]).toEqual([503, "The server is too busy to reach the connection's server."]);
    expect(codes).toEqual(["ERR_TOO_MANY_FORWARDS"]);

    waiting.abort();
    expect(await first).toBe("aborted");
    await within(left[0]!, "the holder to let go of the request whose client left");
  });

  it("forwards a send with its body, and refuses one past the bytes of sends it may hold before reading it", async () => {
    const bodies: string[] = [];
    const { at, codes } = await startPair({
      serve: async (_c, request, reply) => {
        bodies.push(Buffer.from(request.body ?? []).toString());
        replyText(reply, 200);
      },
      maxForwardedBytes: 100,
    });
    expect((await send(at, "POST", { body: "hello" })).status).toBe(200);
    const refused = await send(at, "POST", { body: "x".repeat(101) });
    expect([refused.status, refused.text, refused.headers.connection]).toEqual([503, "The server is too busy to reach the connection's server.", "close"]);
    expect(bodies).toEqual(["hello"]);
    expect(codes).toEqual(["ERR_TOO_MANY_FORWARDS"]);
  });

  // The forwarding server reads a body whole up to 1,024 bytes here; a larger one goes in parts.
  it("forwards a send larger than a whole read in parts, in order, and answers it once its holder has read them all", async () => {
    const parts: number[] = [];
    let received = "";
    let opening: RoutedRequest | undefined;
    const { at, holder } = await startPair({
      serve: async (_c, request, reply, body) => {
        opening = request;
        if (!body) return replyText(reply, 500, "sent whole");
        body.on("data", (chunk: Buffer) => {
          parts.push(chunk.length);
          received += chunk.toString();
        });
        body.on("end", () => replyText(reply, 200, "all read"));
      },
    });
    const sent = Array.from({ length: 600 }, (_, i) => `${i}`.padStart(8, ".")).join("");
    const reply = await send(at, "POST", { body: sent });
    expect([reply.status, reply.text, reply.headers.connection]).toEqual([200, "all read", "keep-alive"]);
    expect(received).toBe(sent);
    expect(parts.length).toBeGreaterThanOrEqual(4);
    expect(parts.slice(0, -1).every((length) => length === 1024)).toBe(true);
    expect(holder.servingForOthers).toBe(0);
    // Over the limit too, so that a server older than parts refuses it (413) as it did before.
    expect(opening).toMatchObject({ method: "POST", more: true, tooLarge: true });
  });

  it.each([1, 2, 3, 4])("hands its holder's reader every hub message of a send in parts once and in order, however parts and writes cut them (seed %i)", async (seed) => {
    const random = seededRandom(seed);
    // MessagePack framing: records of 1 to 3,000 bytes, so some span two or three parts of 1,024.
    const records = Array.from({ length: 60 }, (_, i) => frameBinaryRecord(new Uint8Array(1 + random(3000)).fill(i)));
    const sent = Buffer.concat(records);
    const pieces: Buffer[] = [];
    const { at } = await startPair({
      serve: async (_c, _request, reply, body) => {
        const result = await readBodyInPieces(body!, 4096, "binary", new PausableConnection(), (piece) => pieces.push(Buffer.from(piece)));
        replyText(reply, "done" in result ? 200 : 400);
      },
    });
    const answered = new Promise<number>((resolve, reject) => {
      const req = httpRequest(at, { method: "POST", headers: { "Content-Length": String(sent.length) } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      // Written in chunks of 1 to 5,000 bytes, each after the one before has gone.
      const write = async () => {
        for (let at = 0; at < sent.length; ) {
          const end = Math.min(sent.length, at + 1 + random(5000));
          await new Promise<void>((done) => req.write(sent.subarray(at, end), () => done()));
          at = end;
        }
        req.end();
      };
      void write();
    });
    expect(await answered).toBe(200);
    // Each piece ends with a whole hub message, and together they are the body.
    expect(Buffer.concat(pieces).equals(sent)).toBe(true);
    const ends = new Set(records.map((_, i) => records.slice(0, i + 1).reduce((sum, record) => sum + record.length, 0)));
    let offset = 0;
    for (const piece of pieces) expect(ends.has((offset += piece.length))).toBe(true);
  });

  it("answers a send in parts as soon as its holder does, leaving the rest unread and ending the client's connection", async () => {
    let parts = 0;
    const { at, holder } = await startPair({
      serve: async (_c, _request, reply, body) => {
        body!.on("data", () => {
          if (++parts === 1) replyText(reply, 413, "too large");
        });
      },
    });
    const reply = await send(at, "POST", { body: "x".repeat(10_000) });
    expect([reply.status, reply.text, reply.headers.connection]).toEqual([413, "too large", "close"]);
    expect(parts).toBeLessThanOrEqual(2); // the part after the answer may have been on its way
    await waitFor(() => holder.servingForOthers === 0, "the holder to let go of the body");
  });

  it("answers 408 to a part that comes after its holder gave up waiting for it", async () => {
    let gaveUp = false;
    const { at, holder } = await startPair({
      timeoutMs: 300,
      serve: async (_c, _request, _reply, body) => {
        body!.on("data", () => {});
        body!.on("aborted", () => (gaveUp = true));
      },
    });
    const answered = new Promise<unknown[]>((resolve, reject) => {
      const req = httpRequest(at, { method: "POST", headers: { "Content-Length": "3000" } }, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => resolve([res.statusCode, text, res.headers.connection]));
      });
      req.on("error", reject);
      // The first part (1,024 bytes) goes and is taken; the next waits for more than the holder waits.
      req.write("z".repeat(1500));
      waitFor(() => gaveUp, "the holder to give up on the body").then(() => req.end("z".repeat(1500)), reject);
    });
    expect(await answered).toEqual([408, "The rest of the send did not come in time.", "close"]);
    expect(holder.servingForOthers).toBe(0);
  });

  it.each([
    ["while the forwarding server reads the next part", false],
    ["while its holder holds a part unread", true],
  ])("lets the holder go of a body in parts whose client left %s", async (_when, pauses) => {
    let aborted!: () => void;
    const abandoned = new Promise<void>((resolve) => (aborted = resolve));
    let parts = 0;
    const { at, holder } = await startPair({
      serve: async (_c, _request, _reply, body) => {
        body!.on("aborted", aborted);
        body!.on("data", () => {
          parts++;
          if (pauses) body!.pause();
        });
      },
    });
    const forwardedParts = holder["parts"];
    const take = forwardedParts.take.bind(forwardedParts);
    let partsHeard = 0;
    forwardedParts.take = (message) => {
      partsHeard++;
      take(message);
    };
    // The client sends 2,500 bytes of a longer body, then stops.
    const req = httpRequest(at, { method: "POST", headers: { "Content-Length": "100000" } });
    req.on("error", () => {});
    req.write("y".repeat(2500));
    if (pauses) await waitFor(() => partsHeard === 1, "the second part to reach the holder, which reads none past the first");
    else await waitFor(() => parts === 2, "the first two parts to be read");
    req.destroy();
    await within(abandoned, "the holder's body to end as a dropped request's");
    await waitFor(() => holder.servingForOthers === 0, "the holder to let go of the body");
    expect(parts).toBe(pauses ? 1 : 2);
  });

  it("answers 503 and logs ERR_BACKPLANE_UNAVAILABLE while Redis is away", async () => {
    const { at, codes } = await startPair({ serve: async (_c, _request, reply) => replyText(reply, 200, "served") });
    await redis.stop();
    const reply = await send(at, "GET");
    expect([reply.status, reply.text]).toEqual([503, "The connection's server cannot be reached."]);
    expect(codes).toContain("ERR_BACKPLANE_UNAVAILABLE");
  });
});
