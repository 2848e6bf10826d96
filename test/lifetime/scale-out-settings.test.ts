import { describe, expect, it } from "vitest";
import { resolveSettings } from "../../src/lifetime/scale-out-settings.js";
import { RedisBackplane } from "../../src/redis/index.js";

describe("scale-out settings", () => {
  it("fills in the defaults", () => {
    expect(resolveSettings({ heartbeatInterval: 100, serverTimeout: 1_000 })).toEqual({
      outboxMaxAge: 30_000,
      outboxMaxBytes: 16 * 1024 * 1024,
      heartbeatInterval: 100,
      serverTimeout: 1_000,
    });
  });

  it("refuses, at startup, a bound that is not a positive number or a timeout within two heartbeats", () => {
    expect(() => resolveSettings({ outboxMaxBytes: 0 })).toThrow(expect.objectContaining({ code: "ERR_INVALID_OPTION" }));
    expect(() => resolveSettings({ outboxMaxAge: Number.NaN })).toThrow(expect.objectContaining({ code: "ERR_INVALID_OPTION" }));
    expect(() => resolveSettings({ heartbeatInterval: 1_000, serverTimeout: 2_000 })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_OPTION", message: "scaleOut.serverTimeout must be more than two heartbeat intervals." }),
    );
    expect(() => new RedisBackplane({ publishTimeout: 0 })).toThrow(expect.objectContaining({ code: "ERR_INVALID_OPTION" }));
  });
});
