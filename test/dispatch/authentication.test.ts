import { afterEach, describe, expect, it } from "vitest";
import { authenticated, Hub, HubClass, HubMethod, HubServer, type LogFields } from "../../src/index.js";
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

describe("an expiry that is no time", () => {
  let server: HubServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("is refused by authenticated(), with ERR_INVALID_OPTION", () => {
    for (const expiresAt of [new Date(Number.NaN), Number.NaN, "tomorrow" as unknown as number]) {
      expect(() => authenticated("a", { expiresAt })).toThrow(expect.objectContaining({ code: "ERR_INVALID_OPTION" }));
    }
    // Past, far and unbounded ends are times.
    expect(readAuthentication(authenticated("a", { expiresAt: Number.POSITIVE_INFINITY })).expiresAt).toBe(Number.POSITIVE_INFINITY);
  });

  it("refuses the request (401) as an authenticate that throws does, and logs why", async () => {
    @HubClass()
    class ExpiringHub extends Hub {
      @HubMethod("Echo")
      echo(text: string): string {
        return text;
      }
    }
    const warnings: Array<{ message: string; fields?: LogFields }> = [];
    server = new HubServer({ logger: { debug() {}, info() {}, warn: (message, fields) => void warnings.push({ message, fields }), error() {} } });
    // A token without an `exp` claim, read as if it had one.
    server.mapHub("/expiring", ExpiringHub, { authenticate: (_request, token) => authenticated({ sub: token }, { expiresAt: new Date(Number(undefined) * 1000) }) });
    const { url } = await server.listen(0, "127.0.0.1");
    const negotiate = await fetch(`${url}/expiring/negotiate?negotiateVersion=1`, { method: "POST", headers: { Authorization: "Bearer alice" } });
    expect(negotiate.status).toBe(401);
    expect(warnings.map((w) => (w.fields?.error as { message?: string } | undefined)?.message)).toEqual([
      "authenticated(): expiresAt must be a valid Date or a number of ms since the epoch; got an Invalid Date.",
    ]);
    expect(server.connectionCount).toBe(0);
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
