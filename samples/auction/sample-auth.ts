import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * SAMPLE-GRADE sign-in: anyone may claim any name. A token is the user's name signed with HMAC,
 * so that the server can trust what it issued. A real application signs users in with its
 * identity provider and verifies that provider's tokens in `authenticate`.
 */
export interface Bidder {
  name: string;
}

// Fixed unless configured, so that every instance of the sample accepts the tokens of the others.
const secret = process.env.AUCTION_SECRET ?? "hubwire-auction-sample-secret";

export function issueToken(user: Bidder): string {
  const payload = Buffer.from(JSON.stringify({ name: user.name })).toString("base64url");
  return `${payload}.${sign(payload)}`;
}

export function verifyToken(token: string | undefined): Bidder | null {
  if (!token) return null;
  const [payload, signature] = token.split(".");
  if (!payload || !signature) return null;
  const expected = Buffer.from(sign(payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    const { name } = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Bidder;
    return typeof name === "string" && name ? { name } : null;
  } catch {
    return null;
  }
}

/** A display name is 1-32 letters, digits, spaces, dots, dashes or underscores. */
export function isValidName(name: unknown): name is string {
  return typeof name === "string" && /^[\p{L}\p{N} ._-]{1,32}$/u.test(name.trim()) && name.trim().length > 0;
}

function sign(payload: string): string {
  return createHmac("sha256", secret).update(payload).digest("base64url");
}
