import type { Exchange, Payload, Step } from "../script.js";
import { msgpackFrame } from "../framing.js";
import { call, connect, invocation, modeName, modes, type Mode } from "./build.js";

// Limits (the 32 KiB receive limit, large replies) on the fixture as it is, and timers on the
// "short" variant where every timer is cut to well under a second.

const limits = (mode: Mode): { name: string; steps: Step[] }[] => {
  const t = (...steps: Step[][]) => [...connect(mode, "/testhub"), ...steps.flat()];
  // The invocation's own bytes around the argument, so the whole message lands where wanted.
  const overhead = mode.protocol === "json" ? 63 : 18;
  return [
    { name: "a message just under the receive limit", steps: t(call(mode, "1", "Echo", ["y".repeat(32 * 1024 - overhead - 100)])) },
    { name: "a message over the receive limit", steps: t([{ send: invocation(mode.protocol, "1", "Echo", ["y".repeat(40 * 1024)]) }, { read: "end" }]) },
    { name: "a large reply", steps: [...connect(mode, "/interophub"), ...call(mode, "1", "Big", [100_000])] },
    ...oneMessage(mode),
  ];
};

/**
 * Clients gather a burst of hub messages into one transport message (a WebSocket message, the
 * .NET client's in fragments; a POST): one larger than the transport's limit on a message (1 MiB
 * here), and, over WebSockets, one in fragments that cut through hub messages.
 */
const oneMessage = (mode: Mode): { name: string; steps: Step[] }[] => {
  const t = (...steps: Step[]) => [...connect(mode, "/testhub"), ...steps];
  const calls = (count: number, size: number) => joined(Array.from({ length: count }, (_, i) => invocation(mode.protocol, String(i + 1), "Echo", ["y".repeat(size)])));
  return [
    { name: "hub messages in one message past the transport's limit", steps: t({ send: calls(40, 30_000) }, { read: { completion: "40" } }) },
    ...(mode.transport === "ws" ? [{ name: "hub messages in one message sent in fragments", steps: t({ send: calls(3, 20), fragments: 7 }, { read: { completion: "3" } }) }] : []),
  ];
};

/** Payloads of one protocol as one: text joined, MessagePack messages framed one after another. */
function joined(payloads: Payload[]): string | Uint8Array {
  if (payloads.every((p) => typeof p === "string")) return payloads.join("");
  return Buffer.concat(payloads.map((p) => (typeof p === "string" ? Buffer.from(p) : p instanceof Uint8Array ? p : msgpackFrame(p.msgpack))));
}

// Long polling has no keep-alive pings (its polls are its keep-alive), so only the handshake
// timeout applies to it. The client timeout is left out: ASP.NET Core did not close a silent
// client within seconds of its shortened ClientTimeoutInterval, so no short script can show it.
const timers = (mode: Mode): { name: string; steps: Step[] }[] => [
  {
    name: "handshake timeout",
    steps: [
      { http: { method: "POST", path: "/testhub/negotiate?negotiateVersion=1" } },
      { open: { transport: mode.transport, path: "/testhub?id={token}", protocol: mode.protocol } },
      { read: "end" },
    ],
  },
  ...(mode.transport === "lp"
    ? []
    : [
        { name: "keep-alive ping", steps: [...connect(mode, "/testhub"), { read: "ping" as const }] },
      ]),
];

export const limitExchanges: Exchange[] = modes.flatMap((mode) => limits(mode).map((c) => ({ name: `${modeName(mode)} ${c.name}`, steps: c.steps })));

export const timerExchanges: Exchange[] = [
  ...modes.flatMap((mode) => timers(mode).map((c) => ({ name: `${modeName(mode)} ${c.name}`, server: "short" as const, steps: c.steps }))),
  {
    name: "a long poll held to the poll timeout",
    server: "short",
    steps: [
      { http: { method: "POST", path: "/testhub/negotiate?negotiateVersion=1" } },
      { http: { method: "GET", path: "/testhub?id={token}" } },
      { http: { method: "POST", path: "/testhub?id={token}", body: '{"protocol":"json","version":1}\x1e' } },
      { http: { method: "GET", path: "/testhub?id={token}" } },
      { http: { method: "GET", path: "/testhub?id={token}" } },
    ],
  },
];
