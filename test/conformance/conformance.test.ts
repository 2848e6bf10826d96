import { describe, expect, it } from "vitest";
import { differences, expectedOf, type Difference } from "./differences.js";
import { families } from "./exchanges/index.js";
import { recorded, replay } from "./replay.js";

// The conformance exchanges of the wire's edges (negotiate, requests, handshakes, routes, limits,
// timers, stateful reconnect) replayed against hubwire; conformance-messages.test.ts has the rest, so that the two
// halves run side by side.
describe("conformance with ASP.NET Core SignalR", () => {
  replay(["negotiate", "connection-requests", "handshake", "connections", "limits", "timers", "stateful"]);

  it("every listed difference changes some recording", () => {
    const used = new Set<Difference>();
    for (const [family, exchanges] of Object.entries(families)) {
      const lines = recorded(family);
      for (const exchange of exchanges) expectedOf(`${family}/${exchange.name}`, lines[exchange.name] ?? [], used);
    }
    expect(differences.filter((d) => !used.has(d)).map((d) => d.reason)).toEqual([]);
  });
});
