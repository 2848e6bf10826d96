import { msgpackFrame } from "../framing.js";
import type { Exchange, Step } from "../script.js";
import { handshake, modeName, modes, probe, sync, type Mode } from "./build.js";

// Every handshake variant on every transport and protocol: what the server answers, and whether
// the connection lives on after it (a call made right after shows it).

const open = (mode: Mode, hub = "/testhub"): Step[] => [
  { http: { method: "POST", path: `${hub}/negotiate?negotiateVersion=1` } },
  { open: { transport: mode.transport, path: `${hub}?id={token}`, protocol: mode.protocol } },
];

const own = (mode: Mode) => (mode.protocol === "json" ? "json" : "messagepack");
const other = (mode: Mode) => (mode.protocol === "json" ? "messagepack" : "json");

/** A handshake that fails: the reply, then the end of the connection (a send after it would race the end). */
const failing = (mode: Mode, sent: string): Step[] => [...open(mode), { send: sent }, { read: "end" }];

function variants(mode: Mode): { name: string; steps: Step[] }[] {
  const p = own(mode);
  return [
    { name: "accepted", steps: [...open(mode), { send: handshake(p) }, { read: { messages: 1 } }, ...sync(mode, "/testhub")] },
    {
      name: "the other protocol",
      steps: [...open(mode), { send: handshake(other(mode)) }, { read: { messages: 1 } }],
    },
    { name: "unknown protocol", steps: failing(mode, handshake("foo")) },
    { name: "version 2", steps: [...open(mode), { send: handshake(p, 2) }, { read: { messages: 1 } }, ...sync(mode, "/testhub")] },
    { name: "version 0", steps: [...open(mode), { send: handshake(p, 0) }, { read: { messages: 1 } }] },
    { name: "version -1", steps: [...open(mode), { send: handshake(p, -1) }, { read: { messages: 1 } }, ...sync(mode, "/testhub")] },
    { name: "version beyond 32 bits", steps: failing(mode, handshake(p, 2 ** 32)) },
    { name: "version with a fraction", steps: failing(mode, handshake(p, 1.5)) },
    { name: "text after the request", steps: [...open(mode), { send: `{"protocol":"${p}","version":1}x\x1e` }, { read: { messages: 1 } }] },
    { name: "version as a string", steps: failing(mode, handshake(p, "1")) },
    { name: "without a version", steps: failing(mode, `{"protocol":"${p}"}\x1e`) },
    { name: "without a protocol", steps: failing(mode, `{"version":1}\x1e`) },
    { name: "protocol not a string", steps: failing(mode, `{"protocol":1,"version":1}\x1e`) },
    { name: "malformed JSON", steps: failing(mode, `{"protocol":\x1e`) },
    { name: "an array", steps: failing(mode, `[]\x1e`) },
    { name: "a string", steps: failing(mode, `"json"\x1e`) },
    { name: "empty", steps: failing(mode, `\x1e`) },
    { name: "protocol name in capitals", steps: [...open(mode), { send: handshake(p.toUpperCase()) }, { read: { messages: 1 } }] },
    {
      name: "extra fields",
      steps: [...open(mode), { send: `{"protocol":"${p}","version":1,"extra":true}\x1e` }, { read: { messages: 1 } }, ...sync(mode, "/testhub")],
    },
    {
      name: "with white space",
      steps: [...open(mode), { send: ` { "protocol" : "${p}" , "version" : 1 } \x1e` }, { read: { messages: 1 } }],
    },
    {
      name: "split over two sends",
      steps: [...open(mode), { send: `{"protocol":"${p}",` }, { send: `"version":1}\x1e` }, { read: { messages: 1 } }, ...sync(mode, "/testhub")],
    },
    {
      name: "separator in a send of its own",
      steps: [...open(mode), { send: handshake(p).slice(0, -1) }, { send: "\x1e" }, { read: { messages: 1 } }, ...sync(mode, "/testhub")],
    },
    {
      name: "followed by a message in the same send",
      steps:
        mode.protocol === "json"
          ? [
              ...open(mode),
              { send: `${handshake(p)}{"type":1,"invocationId":"1","target":"Echo","arguments":["same send"]}\x1e` },
              { read: { completion: "1" } },
            ]
          : [
              ...open(mode),
              { send: Buffer.concat([Buffer.from(handshake(p)), msgpackFrame([1, {}, "1", "Echo", ["same send"]])]) },
              { read: { completion: "1" } },
            ],
    },
    // (MessagePack would take the second handshake's "{" as a length and wait for the rest.)
    ...(mode.protocol === "json" ? [{
      name: "twice",
      steps: [...open(mode), { send: handshake(p) }, { read: { messages: 1 } }, ...probe(mode, "/testhub", handshake(p))],
    }] : []),
    { name: "a hub message instead", steps: failing(mode, `{"type":6}\x1e`) },
    { name: "on a hub that cannot be created", steps: [...open(mode, "/uncreatable"), { send: handshake(p) }, { read: "end" }] },
  ];
}

export const handshakeExchanges: Exchange[] = modes.flatMap((mode) =>
  variants(mode).map((v) => ({ name: `${modeName(mode)} handshake ${v.name}`, steps: v.steps })),
);
