import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, PortTakenError, spawnRedis, startOwnRedis, type OwnRedis } from "../support/redis.js";

// The Redis servers tests start of their own: a port found free may be taken by the time the
// server binds it, which must cost a retry, not a failed test.

/** Listens on a free loopback port, as another test's server would. */
async function occupyPort(): Promise<{ port: number; server: Server }> {
  const port = await freePort();
  const server = createServer().listen(port, "127.0.0.1");
  await once(server, "listening");
  return { port, server };
}

describe("a Redis of a test's own", () => {
  let occupied: Server | undefined;
  let redis: OwnRedis | undefined;
  afterEach(async () => {
    await redis?.stop();
    occupied?.close();
    redis = occupied = undefined;
  });

  it("says a port in use is why redis-server could not start", async () => {
    const { port, server } = await occupyPort();
    occupied = server;
    const failure = await spawnRedis(["--port", String(port), "--bind", "127.0.0.1", "--save", ""]).ready.catch((error: Error) => error);
    expect(failure).toBeInstanceOf(PortTakenError);
    expect(failure!.message).toContain(`redis-server (--port ${port}) exited at start`);
    expect(failure!.message).toMatch(/address already in use/i);
  });

  it("starts on another port when the one it picked is taken before it binds it", async () => {
    const { port: taken, server } = await occupyPort();
    occupied = server;
    const picked: number[] = [];
    redis = await startOwnRedis(async () => {
      const port = picked.length === 0 ? taken : await freePort();
      picked.push(port);
      return port;
    });
    expect(picked).toHaveLength(2);
    expect(redis.url).toBe(`redis://127.0.0.1:${picked[1]}`);
  });

  it("gives up after three taken ports", async () => {
    const { port: taken, server } = await occupyPort();
    occupied = server;
    let picks = 0;
    await expect(
      startOwnRedis(async () => {
        picks++;
        return taken;
      }),
    ).rejects.toBeInstanceOf(PortTakenError);
    expect(picks).toBe(3);
  });
});
