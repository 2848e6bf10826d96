import type { Exchange } from "../script.js";

// Negotiate: versions, options, methods, paths, authentication; HTTP only.

const post = (path: string, headers?: Record<string, string>, body?: string): Exchange["steps"] => [
  { http: { method: "POST", path, headers, body } },
];

const hubs = ["/testhub", "/testhub-nowebsockets", "/interophub", "/uncreatable", "/echo", "/TestHub"];

export const negotiateExchanges: Exchange[] = [
  ...hubs.flatMap((hub) =>
    ["", "?negotiateVersion=0", "?negotiateVersion=1"].map((query) => ({
      name: `negotiate ${hub}${query || " without a version"}`,
      steps: post(`${hub}/negotiate${query}`),
    })),
  ),
  { name: "negotiate version 2 is answered as 1", steps: post("/testhub/negotiate?negotiateVersion=2") },
  { name: "negotiate version 99", steps: post("/testhub/negotiate?negotiateVersion=99") },
  { name: "negotiate version -1", steps: post("/testhub/negotiate?negotiateVersion=-1") },
  { name: "negotiate version that is not a number", steps: post("/testhub/negotiate?negotiateVersion=abc") },
  { name: "negotiate version empty", steps: post("/testhub/negotiate?negotiateVersion=") },
  { name: "negotiate version beyond 32 bits", steps: post("/testhub/negotiate?negotiateVersion=99999999999") },
  { name: "negotiate version given twice", steps: post("/testhub/negotiate?negotiateVersion=1&negotiateVersion=1") },
  // A query key matches whatever its case; given twice, its empty values are left out.
  { name: "negotiate version given twice, once empty", steps: post("/testhub/negotiate?negotiateVersion=&negotiateVersion=1") },
  { name: "negotiate version given twice, both empty", steps: post("/testhub/negotiate?negotiateVersion=&negotiateVersion=") },
  { name: "negotiate version with its key in capitals", steps: post("/testhub/negotiate?NEGOTIATEVERSION=1") },
  { name: "negotiate with a body", steps: post("/testhub/negotiate?negotiateVersion=1", { "Content-Type": "text/plain" }, "hello") },
  { name: "negotiate with a JSON body", steps: post("/testhub/negotiate?negotiateVersion=1", { "Content-Type": "application/json" }, "{}") },
  { name: "negotiate asking for stateful reconnect where it is off", steps: post("/testhub/negotiate?negotiateVersion=1&useStatefulReconnect=true") },
  {
    name: "negotiate asking for stateful reconnect where it is on",
    server: "stateful",
    steps: post("/testhub/negotiate?negotiateVersion=1&useStatefulReconnect=true"),
  },
  { name: "negotiate where stateful reconnect is on, not asked", server: "stateful", steps: post("/testhub/negotiate?negotiateVersion=1") },
  ...[
    ["in capitals", "useStatefulReconnect=TRUE"],
    ["with blanks around", "useStatefulReconnect=%20true%20"],
    ["with its key in capitals", "USESTATEFULRECONNECT=true"],
    ["twice, once empty", "useStatefulReconnect=true&useStatefulReconnect="],
    ["twice", "useStatefulReconnect=true&useStatefulReconnect=true"],
    ["as 1", "useStatefulReconnect=1"],
  ].map(([how, query]) => ({
    name: `negotiate asking for stateful reconnect ${how}`,
    server: "stateful" as const,
    steps: post(`/testhub/negotiate?negotiateVersion=1&${query}`),
  })),
  {
    name: "negotiate version 0 asking for stateful reconnect",
    server: "stateful",
    steps: post("/testhub/negotiate?negotiateVersion=0&useStatefulReconnect=true"),
  },
  ...["GET", "PUT", "DELETE", "PATCH"].map((method) => ({
    name: `negotiate with ${method}`,
    steps: [{ http: { method, path: "/testhub/negotiate?negotiateVersion=1" } }],
  })),
  { name: "negotiate of an unknown hub", steps: post("/nohub/negotiate?negotiateVersion=1") },
  { name: "negotiate below a hub path", steps: post("/testhub/extra/negotiate?negotiateVersion=1") },
  { name: "GET of an unknown path", steps: [{ http: { method: "GET", path: "/nothing-here" } }] },
  { name: "redirect negotiate", steps: post("/redirect/negotiate?negotiateVersion=1&baseUrl=http://example.test") },
  { name: "a JWT from the fixture", steps: [{ http: { method: "GET", path: "/generateJwtToken" } }] },
  { name: "negotiate of the authorized hub without a token", steps: post("/authorizedhub/negotiate?negotiateVersion=1") },
  {
    name: "negotiate of the authorized hub with GET and without a token",
    steps: [{ http: { method: "GET", path: "/authorizedhub/negotiate?negotiateVersion=1" } }],
  },
  {
    name: "negotiate of the authorized hub with a bad token",
    steps: post("/authorizedhub/negotiate?negotiateVersion=1", { Authorization: "Bearer not.a.token" }),
  },
  {
    name: "negotiate of the authorized hub with a token in the header",
    steps: [{ http: { method: "GET", path: "/generateJwtToken" } }, ...post("/authorizedhub/negotiate?negotiateVersion=1", { Authorization: "Bearer {jwt}" })],
  },
  {
    name: "negotiate of the authorized hub with a token in the query",
    steps: [{ http: { method: "GET", path: "/generateJwtToken" } }, ...post("/authorizedhub/negotiate?negotiateVersion=1&access_token={jwt}")],
  },
  {
    name: "negotiate of the authorized hub with a non-bearer scheme",
    steps: post("/authorizedhub/negotiate?negotiateVersion=1", { Authorization: "Basic dXNlcjpwYXNz" }),
  },
];
