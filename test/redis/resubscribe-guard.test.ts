import { afterEach, describe, expect, it, vi } from "vitest";
import { ResubscribeGuard } from "../../src/redis/resubscribe-guard.js";

describe("ResubscribeGuard", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("counts fewer receivers than a channel had as missing, only within the grace after a failed publish", () => {
    vi.useFakeTimers();
    const guard = new ResubscribeGuard();
    expect(guard.missesReceivers("group:g", 3)).toBe(false);
    expect(guard.missesReceivers("group:g", 2)).toBe(false); // no failure: a server left the group
    guard.failed();
    expect(guard.missesReceivers("group:g", 1)).toBe(true); // its shard came back, one server not yet subscribed
    expect(guard.missesReceivers("group:g", 2)).toBe(false);
    expect(guard.missesReceivers("group:other", 0)).toBe(false); // never counted before
    vi.advanceTimersByTime(5_000);
    expect(guard.missesReceivers("group:g", 1)).toBe(false); // past the grace: that server is gone
  });
});
