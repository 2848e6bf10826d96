import { describe, expect, it } from "vitest";
import { newConnectionId } from "../../src/transports/connection-ids.js";

describe("connection ids", () => {
  it("are 22 base64url characters, all different, across many refills of the random pool", () => {
    const ids = Array.from({ length: 5000 }, () => newConnectionId());
    for (const id of ids) expect(id).toMatch(/^[\w-]{22}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
