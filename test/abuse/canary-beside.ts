import { expect } from "vitest";
import type { HubServer } from "../../src/index.js";
import { AbuseHub } from "../../bench/abuse/abuse-hub.js";
import { Canary } from "../../bench/abuse/canary.js";

// The canary of the abuse bench, beside the attacks of the correctness rows too: a well-behaved
// client on a connection of its own to the attacked server, calling Echo on a hub of its own (so
// that what the attacked hub counts stays the attacker's alone).

/** The canary's calls, 99 in 100 of them, are answered within this during an attack (ms). */
export const canaryP99Ms = 1000;

const canaryPath = "/canary";

/** Maps the hub the canary calls; before `listen`, as any hub. */
export function mapCanaryHub(server: HubServer): void {
  server.mapHub(canaryPath, AbuseHub);
}

/** Starts a canary against the server at `url` (its origin is what counts: any hub's URL will do). */
export function startCanary(url: string): Promise<Canary> {
  return Canary.start(new URL(canaryPath, url).href);
}

/** Stops the canary: it made calls, and they were answered within canaryP99Ms. */
export async function expectCanaryAnswered(canary: Canary): Promise<void> {
  const { calls, p99 } = await canary.stop();
  expect(calls).toBeGreaterThan(0);
  expect(p99).toBeLessThan(canaryP99Ms);
}
