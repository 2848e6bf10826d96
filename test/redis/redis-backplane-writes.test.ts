import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { redisUrl } from "../support/redis.js";
import { waitFor } from "../support/wait.js";

describe("RedisBackplane publishes", () => {
  let backplanes: RedisBackplane[] = [];
  afterEach(async () => {
    await Promise.all(backplanes.map((backplane) => backplane.close()));
    backplanes = [];
  });

  it("go to Redis in one socket write per event-loop turn, each answered, in order", async () => {
    const channelPrefix = `writes-${randomUUID()}`;
    const [publisher, subscriber] = [0, 1].map(() => new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }));
    backplanes.push(publisher!, subscriber!);
    const heard: number[] = [];
    await subscriber!.subscribe("burst", (payload) => void heard.push(payload[0]!));
    await publisher!.publish("burst", new Uint8Array([0]));
    // Count the writes that reach the publisher's socket handle (one system call each).
    const socket = (publisher as unknown as { publisher: { stream: Socket } }).publisher.stream;
    let writes = 0;
    const { _writev, _write } = socket as unknown as Record<"_writev" | "_write", (...args: unknown[]) => void>;
    Object.assign(socket, {
      _writev: (...args: unknown[]) => (writes++, _writev.apply(socket, args)),
      _write: (...args: unknown[]) => (writes++, _write.apply(socket, args)),
    });
    const burst = Array.from({ length: 50 }, (_, i) => publisher!.publish("burst", new Uint8Array([i + 1])));
    expect(await Promise.all(burst)).toEqual(Array(50).fill(1));
    expect(writes).toBe(1);
    await waitFor(() => heard.length === 51, () => `every message heard (${heard.length} of 51)`);
    expect(heard).toEqual(Array.from({ length: 51 }, (_, i) => i));
    // The next turn's publish is not held back by the last one's.
    await publisher!.publish("burst", new Uint8Array([51]));
    expect(writes).toBe(2);
  });
});
