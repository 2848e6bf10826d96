import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { redisUrl } from "../support/redis.js";
import { waitFor } from "../support/wait.js";

describe("RedisBackplane.unsubscribe", () => {
  let backplanes: RedisBackplane[] = [];
  afterEach(async () => {
    await Promise.all(backplanes.map((backplane) => backplane.close()));
    backplanes = [];
  });

  it("hands over every message Redis counted as received before the unsubscribe was done", async () => {
    const channelPrefix = `unsubscribe-${randomUUID()}`;
    const [publisher, subscriber] = [0, 1].map(() => new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }));
    backplanes.push(publisher!, subscriber!);
    // A server that answers what it receives is counted on by whoever published: what Redis
    // delivered to it must not be dropped because it was leaving the channel at that moment.
    let counted = 0;
    let heard = 0;
    for (let round = 0; round < 50; round++) {
      const channel = `channel-${round}`;
      await subscriber!.subscribe(channel, () => void heard++);
      counted += await publisher!.publish(channel, new Uint8Array([round]));
      await subscriber!.unsubscribe(channel);
    }
    await waitFor(() => heard === counted, () => `every counted message to be heard (${heard} of ${counted})`);
    expect(counted).toBe(50);
  });
});
