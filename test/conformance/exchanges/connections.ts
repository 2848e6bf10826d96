import type { Exchange, Step } from "../script.js";
import { call, connect, handshake, invocation, modeName, modes, sync, type Mode } from "./build.js";

// What takes more than one connection, or a user: bearer tokens, groups and routes, and the raw
// /echo endpoint that has no hub protocol at all.

function authorized(mode: Mode): { name: string; steps: Step[] }[] {
  const token: Step = { http: { method: "GET", path: "/generateJwtToken" } };
  // The official client sets the header wherever it can (Node's SSE included); browsers' WebSockets cannot.
  const viaQuery = mode.transport === "ws";
  return [
    {
      name: "with a token",
      // As clients send it: a header for negotiate and polls, the query where browsers cannot set one.
      steps: [
        token,
        { http: { method: "POST", path: "/authorizedhub/negotiate?negotiateVersion=1", headers: { Authorization: "Bearer {jwt}" } } },
        ...connect(mode, "/authorizedhub", viaQuery ? { query: "access_token={jwt}" } : { headers: { Authorization: "Bearer {jwt}" } }).slice(1),
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

// Users and groups are named after the mode and the case, so exchanges running side by side
// share none; a broadcast reaches everyone, so those exchanges run alone.
const routes = (mode: Mode): { name: string; steps: Step[]; exclusive?: boolean }[] => {
  const p = mode.protocol;
  const cases: { name: string; exclusive?: boolean; steps: (ann: string, bob: string, g: string) => Step[] }[] = [];
  const add = (name: string, steps: (ann: string, bob: string, g: string) => Step[], exclusive?: boolean) => cases.push({ name, steps, exclusive });
  const join = (channel: string, g: string, id: string) => call(mode, id, "AddToGroup", [g], channel);
  const send = (target: string, args: unknown[]): Step[] => [...call(mode, "x", target, args, "a"), ...sync(mode, "/interophub", "b")];
  add("send to all", () => send("SendToAll", ["hi"]), true);
  add("send to others", () => send("SendToOthers", ["hi"]), true);
  add("send to a group", (_a, _b, g) => [...join("a", g, "j1"), ...join("b", g, "j2"), ...send("SendToGroup", [g, "hi"])]);
  add("send to others in a group", (_a, _b, g) => [...join("a", g, "j1"), ...join("b", g, "j2"), ...send("SendToOthersInGroup", [g, "hi"])]);
  add("send to a group after leaving it", (_a, _b, g) => [...join("b", g, "j1"), ...call(mode, "l", "RemoveFromGroup", [g], "b"), ...send("SendToGroup", [g, "hi"])]);
  add("send to a group nobody is in", (_a, _b, g) => send("SendToGroup", [g, "hi"]));
  add("send to two groups of one connection", (_a, _b, g) => [
    ...join("b", `${g}-1`, "j1"),
    ...join("b", `${g}-2`, "j2"),
    ...send("SendToGroups", [[`${g}-1`, `${g}-2`], "hi"]),
  ]);
  add("send to a user", (_a, bob) => send("SendToUser", [bob, "hi"]));
  add("send to users", (ann, bob) => send("SendToUsers", [[bob, ann], "hi"]));
  add("send to a user nobody is", () => send("SendToUser", ["nobody", "hi"]));
  add("send to a connection that does not exist", () => send("SendToConnection", ["nope", "hi"]));
  add("send an object to all", () => send("SendToAll", [{ nested: [1, "two", null] }]), true);
  add("send null to all", () => send("SendToAll", [null]), true);
  add(
    "fire and forget to all",
    () => [{ send: invocation(p, undefined, "SendToAll", ["quiet"]), channel: "a" }, ...sync(mode, "/interophub", "a"), ...sync(mode, "/interophub", "b")],
    true,
  );
  return cases.map((c, k) => {
    const [ann, bob, g] = ["ann", "bob", "g"].map((n) => `${n}-${modeName(mode)}-${k}`) as [string, string, string];
    // ASP.NET Core answers the handshake before it counts the connection in (all, its user): a
    // call of b answered first says b is in, so a send that a makes next reaches it.
    const two = [
      ...connect(mode, "/interophub", { channel: "a", query: `user=${ann}` }),
      ...connect(mode, "/interophub", { channel: "b", query: `user=${bob}` }),
      ...sync(mode, "/interophub", "b"),
    ];
    return { name: c.name, exclusive: c.exclusive, steps: [...two, ...c.steps(ann, bob, g)] };
  });
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
    .flatMap((mode) => routes(mode).map((c) => ({ name: `${modeName(mode)} ${c.name}`, exclusive: c.exclusive, steps: c.steps }))),
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
