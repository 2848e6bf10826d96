import { sampleTokens } from "../shared/sample-tokens.js";

/** A signed-in bidder: a name anyone may claim (see sampleTokens). */
export interface Bidder {
  name: string;
}

// Fixed unless configured, so that every instance of the sample accepts the tokens of the others.
const tokens = sampleTokens<Bidder>(process.env.AUCTION_SECRET ?? "hubwire-auction-sample-secret", ({ name }) =>
  typeof name === "string" && name ? { name } : null,
);

export function issueToken(user: Bidder): string {
  return tokens.issue({ name: user.name });
}

export function verifyToken(token: string | undefined): Bidder | null {
  return tokens.verify(token);
}
