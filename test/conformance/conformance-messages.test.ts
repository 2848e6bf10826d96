import { describe } from "vitest";
import { replay } from "./replay.js";

// The conformance exchanges of hub messages and bad input replayed against hubwire (the other
// families are in conformance.test.ts).
describe("conformance with ASP.NET Core SignalR", () => {
  replay(["messages", "bad-input"]);
});
