import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * SAMPLE-GRADE sign-in, shared by the samples: anyone may claim any name. A token is the user's
 * claims as JSON, signed with HMAC so that the server can trust what it issued. A real application
 * signs users in with its identity provider and verifies that provider's tokens in `authenticate`.
 */
export interface SampleTokens<TUser> {
  issue(user: TUser): string;
  /** The user a token names, or null for a token this secret did not sign (or claims `read` refuses). */
  verify(token: string | undefined): TUser | null;
}

/** Tokens signed with `secret`; `read` turns the claims back into a user (null: refused). */
export function sampleTokens<TUser>(secret: string, read: (claims: Record<string, unknown>) => TUser | null): SampleTokens<TUser> {
  const sign = (payload: string) => createHmac("sha256", secret).update(payload).digest("base64url");
  return {
    issue(user) {
      const payload = Buffer.from(JSON.stringify(user)).toString("base64url");
      return `${payload}.${sign(payload)}`;
    },
    verify(token) {
      if (!token) return null;
      const [payload, signature] = token.split(".");
      if (!payload || !signature) return null;
      const expected = Buffer.from(sign(payload));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
      try {
        const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as unknown;
        return typeof claims === "object" && claims !== null ? read(claims as Record<string, unknown>) : null;
      } catch {
        return null;
      }
    },
  };
}

/** A display name is 1-32 letters, digits, spaces, dots, dashes or underscores. */
export function isValidName(name: unknown): name is string {
  return typeof name === "string" && /^[\p{L}\p{N} ._-]{1,32}$/u.test(name.trim()) && name.trim().length > 0;
}
