import type { Exchange } from "../script.js";

// Requests on a connection's endpoint that go wrong before any hub message: missing or unknown
// ids, wrong methods, transports the hub does not offer, a second request for one connection.

const negotiate = (hub = "/testhub", version = 1): Exchange["steps"][number] => ({
  http: { method: "POST", path: `${hub}/negotiate?negotiateVersion=${version}` },
});

const sse = { Accept: "text/event-stream" };

export const connectionRequestExchanges: Exchange[] = [
  { name: "GET of a hub without an id", steps: [{ http: { method: "GET", path: "/testhub" } }] },
  { name: "SSE GET of a hub without an id", steps: [{ http: { method: "GET", path: "/testhub", headers: sse } }] },
  { name: "POST to a hub without an id", steps: [{ http: { method: "POST", path: "/testhub", body: "x" } }] },
  { name: "DELETE of a hub without an id", steps: [{ http: { method: "DELETE", path: "/testhub" } }] },
  { name: "PUT to a hub", steps: [{ http: { method: "PUT", path: "/testhub?id=abc" } }] },
  { name: "POST with the id given twice, the first empty", steps: [{ http: { method: "POST", path: "/testhub?id=&id=abc", body: "x" } }] },
  // A query key matches whatever its case; given twice, its empty values are left out.
  { name: "poll with the id's key in capitals", steps: [negotiate(), { http: { method: "GET", path: "/testhub?ID={token}" } }] },
  { name: "poll with the id given twice, once empty", steps: [negotiate(), { http: { method: "GET", path: "/testhub?id={token}&id=" } }] },
  { name: "poll with the id given twice", steps: [negotiate(), { http: { method: "GET", path: "/testhub?id={token}&id={token}" } }] },
  { name: "PUT to the authorized hub without a token", steps: [{ http: { method: "PUT", path: "/authorizedhub?id=abc" } }] },
  { name: "GET of the authorized hub without an id or a token", steps: [{ http: { method: "GET", path: "/authorizedhub" } }] },
  { name: "POST to the authorized hub with an unknown id and no token", steps: [{ http: { method: "POST", path: "/authorizedhub?id=unknown", body: "x" } }] },
  { name: "GET with an unknown id", steps: [{ http: { method: "GET", path: "/testhub?id=unknown" } }] },
  { name: "SSE GET with an unknown id", steps: [{ http: { method: "GET", path: "/testhub?id=unknown", headers: sse } }] },
  { name: "POST with an unknown id", steps: [{ http: { method: "POST", path: "/testhub?id=unknown", body: "x" } }] },
  { name: "DELETE with an unknown id", steps: [{ http: { method: "DELETE", path: "/testhub?id=unknown" } }] },
  {
    name: "WebSocket with an unknown id",
    steps: [{ open: { transport: "ws", path: "/testhub?id=unknown", protocol: "json" } }],
  },
  {
    name: "WebSocket to a hub without WebSockets",
    steps: [negotiate("/testhub-nowebsockets"), { open: { transport: "ws", path: "/testhub-nowebsockets?id={token}", protocol: "json" } }],
  },
  {
    name: "WebSocket without negotiate to a hub without WebSockets",
    steps: [{ open: { transport: "ws", path: "/testhub-nowebsockets", protocol: "json" } }],
  },
  {
    name: "SSE GET without negotiate",
    steps: [{ open: { transport: "sse", path: "/testhub", protocol: "json" } }],
  },
  {
    name: "WebSocket of an unknown path",
    steps: [{ open: { transport: "ws", path: "/nohub", protocol: "json" } }],
  },
  {
    name: "GET of a negotiated connection with version 0 by its id",
    steps: [negotiate("/testhub", 0), { open: { transport: "lp", path: "/testhub?id={id}", protocol: "json" } }, { close: true }, { read: "end" }],
  },
  {
    name: "POST before the connection starts",
    steps: [negotiate(), { http: { method: "POST", path: "/testhub?id={token}", body: '{"protocol":"json","version":1}\x1e' } }],
  },
  {
    name: "DELETE of a connection that never started",
    steps: [negotiate(), { http: { method: "DELETE", path: "/testhub?id={token}" } }, { http: { method: "GET", path: "/testhub?id={token}" } }],
  },
  {
    name: "SSE after long polling started",
    steps: [
      negotiate(),
      { open: { transport: "lp", path: "/testhub?id={token}", protocol: "json" } },
      { http: { method: "GET", path: "/testhub?id={token}", headers: sse } },
    ],
  },
  {
    name: "long polling after SSE started",
    steps: [
      negotiate(),
      { open: { transport: "sse", path: "/testhub?id={token}", protocol: "json" } },
      { http: { method: "GET", path: "/testhub?id={token}" } },
    ],
  },
  {
    name: "a second SSE request for one connection",
    steps: [
      negotiate(),
      { open: { transport: "sse", path: "/testhub?id={token}", protocol: "json", channel: "a" } },
      { open: { transport: "sse", path: "/testhub?id={token}", protocol: "json", channel: "b" } },
    ],
  },
  {
    name: "a second WebSocket for one connection",
    steps: [
      negotiate(),
      { open: { transport: "ws", path: "/testhub?id={token}", protocol: "json", channel: "a" } },
      { open: { transport: "ws", path: "/testhub?id={token}", protocol: "json", channel: "b" } },
    ],
  },
  {
    name: "a WebSocket after long polling started",
    steps: [
      negotiate(),
      { open: { transport: "lp", path: "/testhub?id={token}", protocol: "json" } },
      { open: { transport: "ws", path: "/testhub?id={token}", protocol: "json" } },
    ],
  },
  {
    name: "the connection token of version 1 used as the id is the id, not the connection id",
    steps: [negotiate(), { http: { method: "GET", path: "/testhub?id={id}" } }],
  },
  {
    name: "long polling ended by DELETE",
    steps: [
      negotiate(),
      { open: { transport: "lp", path: "/testhub?id={token}", protocol: "json" } },
      { close: true },
      { read: "end" },
      { http: { method: "GET", path: "/testhub?id={token}" } },
    ],
  },
];
