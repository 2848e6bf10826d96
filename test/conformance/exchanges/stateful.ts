import type { Exchange, Step } from "../script.js";
import { ack, call, handshake, modeName, sequence, sync, type Mode } from "./build.js";

// Stateful reconnect (the "stateful" server variant): handshake version 2, acks and sequence
// messages, and a WebSocket dropped and taken up again with the same connection token. The
// server's own acks are timer-driven and left out of reads.

const hub = "/testhub";

const start = (mode: Mode, version = 2): Step[] => [
  { http: { method: "POST", path: `${hub}/negotiate?negotiateVersion=1&useStatefulReconnect=true` } },
  { open: { transport: "ws", path: `${hub}?id={token}`, protocol: mode.protocol, channel: "a" } },
  { send: handshake(mode.protocol === "json" ? "json" : "messagepack", version), channel: "a" },
  { read: { messages: 1 }, channel: "a" },
];

/** The same connection on a new WebSocket: no handshake this time. */
const again = (mode: Mode): Step => ({ open: { transport: "ws", path: `${hub}?id={token}`, protocol: mode.protocol, channel: "b", handshake: false } });

function cases(mode: Mode): { name: string; steps: Step[] }[] {
  const p = mode.protocol;
  return [
    { name: "handshake version 2 and a call", steps: [...start(mode), ...call(mode, "1", "Echo", ["stateful"], "a")] },
    { name: "handshake version 1 keeps it off", steps: [...start(mode, 1), ...call(mode, "1", "Echo", ["plain"], "a")] },
    { name: "an ack from the client", steps: [...start(mode), ...call(mode, "1", "Echo", ["x"], "a"), { send: ack(p, 1), channel: "a" }, ...sync(mode, hub, "a")] },
    // A sequence message on a socket that did not drop: from the next message on, the client counts from it.
    { name: "sequence 0 on the first socket, then a call", steps: [...start(mode), { send: sequence(p, 0), channel: "a" }, ...call(mode, "1", "Echo", ["x"], "a")] },
    { name: "sequence 1 on the first socket, then a call", steps: [...start(mode), { send: sequence(p, 1), channel: "a" }, ...call(mode, "1", "Echo", ["x"], "a")] },
    { name: "sequence 5 on the first socket, then a call", steps: [...start(mode), { send: sequence(p, 5), channel: "a" }, ...call(mode, "1", "Echo", ["x"], "a")] },
    { name: "an ack of 0", steps: [...start(mode), { send: ack(p, 0), channel: "a" }, ...sync(mode, hub, "a")] },
    { name: "an ack beyond what was sent", steps: [...start(mode), { send: ack(p, 99), channel: "a" }, ...sync(mode, hub, "a")] },
    {
      name: "dropped and taken up again: what was not acknowledged comes again",
      steps: [
        ...start(mode),
        ...call(mode, "1", "Echo", ["before the drop"], "a"),
        { drop: true, channel: "a" },
        again(mode),
        // The client's one message (the call) arrived: it goes on from 2.
        { send: sequence(p, 2), channel: "b" },
        ...call(mode, "after", "Echo", ["after the drop"], "b"),
      ],
    },
    {
      name: "dropped and taken up again after an ack: only what followed it comes again",
      steps: [
        ...start(mode),
        ...call(mode, "1", "Echo", ["acknowledged"], "a"),
        { send: ack(p, 1), channel: "a" },
        // Answered after the ack was read: the ack has been taken when the socket drops.
        ...sync(mode, hub, "a"),
        { drop: true, channel: "a" },
        again(mode),
        { send: sequence(p, 3), channel: "b" },
        ...call(mode, "after", "Echo", ["after the drop"], "b"),
      ],
    },
  ];
}

const modes: Mode[] = [
  { transport: "ws", protocol: "json" },
  { transport: "ws", protocol: "msgpack" },
];

export const statefulExchanges: Exchange[] = modes.flatMap((mode) =>
  cases(mode).map((c) => ({ name: `${modeName(mode)} ${c.name}`, server: "stateful" as const, steps: c.steps })),
);
