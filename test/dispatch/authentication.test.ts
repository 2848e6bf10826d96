import { describe, expect, it } from "vitest";
import { authenticated } from "../../src/index.js";
import { identityOf, readAuthentication } from "../../src/dispatch/authentication.js";

describe("what authenticate returns", () => {
  it("is a user, with an expiry from authenticated() or a JWT exp claim", () => {
    expect(readAuthentication(null)).toEqual({ user: null, expiresAt: undefined });
    expect(readAuthentication(undefined)).toEqual({ user: null, expiresAt: undefined });
    expect(readAuthentication("alice")).toEqual({ user: "alice", expiresAt: undefined });
    expect(readAuthentication(authenticated({ sub: "a" }, { expiresAt: 1_000 }))).toEqual({ user: { sub: "a" }, expiresAt: 1_000 });
    expect(readAuthentication(authenticated("a", { expiresAt: new Date(2_000) })).expiresAt).toBe(2_000);
    expect(readAuthentication({ sub: "a", exp: 1_700_000_000 })).toEqual({ user: { sub: "a", exp: 1_700_000_000 }, expiresAt: 1_700_000_000_000 });
    expect(readAuthentication({ sub: "a", exp: "tomorrow" }).expiresAt).toBeUndefined();
  });
});

describe("the identity two requests must share", () => {
  it("is the user id when there is one, else the user without the claims each token changes", () => {
    expect(identityOf(null, undefined)).toBe("anonymous");
    expect(identityOf({ sub: "a", role: "x" }, "a")).toBe(identityOf({ sub: "a", role: "y" }, "a"));
    expect(identityOf({ role: "x", exp: 1, iat: 1, jti: "1" }, undefined)).toBe(identityOf({ role: "x", exp: 2, iat: 2, jti: "2" }, undefined));
    expect(identityOf({ role: "x" }, undefined)).not.toBe(identityOf({ role: "y" }, undefined));
    expect(identityOf({ role: "x" }, undefined)).not.toBe("anonymous");
  });

  it("never matches for a user that cannot be compared", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(identityOf(cyclic, undefined)).not.toBe(identityOf(cyclic, undefined));
  });
});
