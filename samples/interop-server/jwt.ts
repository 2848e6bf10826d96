import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

// A minimal HS256 JWT, enough for the fixture's /generateJwtToken and /authorizedhub.
const secret = randomBytes(32);

export function signToken(subject: string, lifetimeSeconds: number): string {
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = base64url(JSON.stringify({ sub: subject, exp: Math.floor(Date.now() / 1000) + lifetimeSeconds }));
  return `${header}.${payload}.${signature(`${header}.${payload}`)}`;
}

/** The token's subject, or undefined when the token is malformed, forged or expired. */
export function verifyToken(token: string | undefined): string | undefined {
  const parts = token?.split(".");
  if (!parts || parts.length !== 3) return undefined;
  const [header, payload, given] = parts as [string, string, string];
  const expected = Buffer.from(signature(`${header}.${payload}`));
  const actual = Buffer.from(given);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub?: unknown; exp?: unknown };
    if (typeof claims.exp !== "number" || claims.exp * 1000 <= Date.now()) return undefined;
    return typeof claims.sub === "string" ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

function signature(data: string): string {
  return createHmac("sha256", secret).update(data).digest("base64url");
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}
