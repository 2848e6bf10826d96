import type { ServerVariant } from "./script.js";

// The fixture server runs in three variants, the same on both servers: as the fixture is, with
// stateful reconnect allowed, and with every timer shortened so that timeouts are seen at once.

export const shortTimers = {
  handshakeTimeout: 500,
  keepAliveInterval: 300,
  clientTimeoutInterval: 1000,
  pollTimeout: 500,
};

/** Environment of the ASP.NET Core reference server (test/reference/aspnetcore/Program.cs). */
export const aspnetcoreEnv: Record<ServerVariant, Record<string, string>> = {
  default: {},
  stateful: { ALLOW_STATEFUL_RECONNECTS: "1" },
  short: { SHORT_TIMEOUTS: "1" },
};

/** Options of hubwire's interop server (samples/interop-server) for the same variants. */
export const hubwireOptions: Record<ServerVariant, Record<string, unknown>> = {
  default: {},
  stateful: { allowStatefulReconnects: true },
  short: shortTimers,
};
