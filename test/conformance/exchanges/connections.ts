import type { Exchange, Step } from "../script.js";
import { call, connect, handshake, invocation, modeName, modes, sync, type Mode } from "./build.js";

// What takes more than one connection, or a user: bearer tokens, groups and routes, and the raw
// /echo endpoint that has no hub protocol at all.

function authorized(mode: Mode): { name: string; steps: Step[] }[] {
  const token: Step = { http: { method: "GET", path: "/generateJwtToken" } };
  const viaQuery = mode.transport !== "lp";
  return [
    {
      name: "with a token",
      steps: [
        token,
        ...connect(mode, "/authorizedhub", viaQuery ? { query: "access_token={jwt}" } : { headers: { Authorization: "Bearer {jwt}" } }),
        ...call(mode, "1", "Echo", ["authorized"]),
        ...call(mode, "2", "GetUserIdentifier", []),
      ],
    },
    {
      name: "token dropped after negotiate",
      steps: [
        token,
        { http: { method: "POST", path: "/authorizedhub/negotiate?negotiateVersion=1", headers: { Authorization: "Bearer {jwt}" } } },
        { open: { transport: mode.transport, path: "/authorizedhub?id={token}", protocol: mode.protocol } },
      ],
    },
    {
      name: "without negotiate and without a token",
      steps: [{ open: { transport: mode.transport, path: "/authorizedhub", protocol: mode.protocol } }],
    },
  ];
}

const routes = (mode: Mode): { name: string; steps: Step[] }[] => {
  const p = mode.protocol;
  const two = [...connect(mode, "/interophub", { channel: "a", query: "user=ann" }), ...connect(mode, "/interophub", { channel: "b", query: "user=bob" })];
  const join = (channel: string, group: string, id: string) => call(mode, id, "AddToGroup", [group], channel);
  const send = (target: string, args: unknown[]): Step[] => [...call(mode, "x", target, args, "a"), ...sync(mode, "/interophub", "b")];
  return [
    { name: "send to all", steps: [...two, ...send("SendToAll", ["hi"])] },
    { name: "send to others", steps: [...two, ...send("SendToOthers", ["hi"])] },
    { name: "send to a group", steps: [...two, ...join("a", "g", "j1"), ...join("b", "g", "j2"), ...send("SendToGroup", ["g", "hi"])] },
    { name: "send to others in a group", steps: [...two, ...join("a", "g", "j1"), ...join("b", "g", "j2"), ...send("SendToOthersInGroup", ["g", "hi"])] },
    { name: "send to a group after leaving it", steps: [...two, ...join("b", "g", "j1"), ...call(mode, "l", "RemoveFromGroup", ["g"], "b"), ...send("SendToGroup", ["g", "hi"])] },
    { name: "send to a group nobody is in", steps: [...two, ...send("SendToGroup", ["empty", "hi"])] },
    { name: "send to a user", steps: [...two, ...send("SendToUser", ["bob", "hi"])] },
    { name: "send to users", steps: [...two, ...send("SendToUsers", [["bob", "ann"], "hi"])] },
    { name: "send to a user nobody is", steps: [...two, ...send("SendToUser", ["nobody", "hi"])] },
    { name: "send to a connection that does not exist", steps: [...two, ...send("SendToConnection", ["nope", "hi"])] },
    { name: "send an object to all", steps: [...two, ...send("SendToAll", [{ nested: [1, "two", null] }])] },
    { name: "send null to all", steps: [...two, ...send("SendToAll", [null])] },
    {
      name: "fire and forget to all",
      steps: [...two, { send: invocation(p, undefined, "SendToAll", ["quiet"]), channel: "a" }, ...sync(mode, "/interophub", "a"), ...sync(mode, "/interophub", "b")],
    },
  ];
};

const echo = (transport: Mode["transport"]): Exchange => ({
  name: `${transport} raw echo`,
  steps: [
    { http: { method: "POST", path: "/echo/negotiate?negotiateVersion=1" } },
    { open: { transport, path: "/echo?id={token}", protocol: "raw" } },
    { send: "hello" },
    { read: { messages: 1 } },
  ],
});

export const connectionExchanges: Exchange[] = [
  ...modes.flatMap((mode) => authorized(mode).map((c) => ({ name: `${modeName(mode)} authorized hub ${c.name}`, steps: c.steps }))),
  ...modes
    .filter((m) => m.transport === "ws" || m.protocol === "json")
    .flatMap((mode) => routes(mode).map((c) => ({ name: `${modeName(mode)} ${c.name}`, steps: c.steps }))),
  ...(["ws", "sse", "lp"] as const).map(echo),
  {
    name: "ws skipping negotiate",
    steps: [
      { open: { transport: "ws", path: "/testhub", protocol: "json" } },
      { send: handshake("json") },
      { read: { messages: 1 } },
      ...call({ transport: "ws", protocol: "json" }, "1", "GetActiveTransportName", []),
    ],
  },
];
