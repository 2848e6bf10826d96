import { sampleTokens } from "../shared/sample-tokens.js";

/** A signed-in user of the sample: a name anyone may claim (see sampleTokens), and whether an admin. */
export interface SampleUser {
  name: string;
  admin: boolean;
}

// Fixed unless configured, so tokens survive a restart of the sample (its browser test restarts it).
const tokens = sampleTokens<SampleUser>(process.env.NOTIFICATIONS_SECRET ?? "hubwire-notifications-sample-secret", ({ name, admin }) =>
  typeof name === "string" && name ? { name, admin: admin === true } : null,
);

export function issueToken(user: SampleUser): string {
  return tokens.issue({ name: user.name, admin: user.admin });
}

export function verifyToken(token: string | undefined): SampleUser | null {
  return tokens.verify(token);
}
