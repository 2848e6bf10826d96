import type { Exchange, Step } from "../script.js";
import {
  ack,
  call,
  cancelInvocation,
  closeMessage,
  completion,
  connect,
  invocation,
  modeName,
  modes,
  ping,
  sequence,
  streamInvocation,
  streamItem,
  sync,
  type Mode,
} from "./build.js";

// Every message type both ways, on the fixture's hubs, on every transport and protocol.

const complex = (mode: Mode) => ({
  String: "hello",
  IntArray: [1, 2, 3],
  ByteArray: mode.protocol === "json" ? "AQID" : new Uint8Array([1, 2, 3]),
  Guid: "00010203-0405-0607-0706-050403020100",
  DateTime: mode.protocol === "json" ? "2000-01-01T00:00:00Z" : new Date(Date.UTC(2000, 0, 1)),
});

function cases(mode: Mode): { name: string; steps: Step[] }[] {
  const p = mode.protocol;
  const t = (...steps: Step[][]) => [...connect(mode, "/testhub"), ...steps.flat()];
  const i = (...steps: Step[][]) => [...connect(mode, "/interophub"), ...steps.flat()];
  return [
    { name: "Echo", steps: t(call(mode, "1", "Echo", ["hello"])) },
    { name: "Echo of an empty string", steps: t(call(mode, "1", "Echo", [""])) },
    { name: "Echo of text beyond ASCII", steps: t(call(mode, "1", "Echo", ["héllo wörld ✓ 😀 \u0000 \u001e"])) },
    { name: "Echo of null", steps: t(call(mode, "1", "Echo", [null])) },
    { name: "Echo without an invocation id", steps: t([{ send: invocation(p, undefined, "Echo", ["no answer"]) }], sync(mode, "/testhub")) },
    { name: "Echo with a long invocation id", steps: t(call(mode, "x".repeat(200), "Echo", ["id"])) },
    { name: "void method", steps: t(call(mode, "1", "InvokeWithString", ["to the caller"])) },
    { name: "void method without an invocation id", steps: t([{ send: invocation(p, undefined, "InvokeWithString", ["one way"]) }], sync(mode, "/testhub")) },
    { name: "method that throws", steps: t(call(mode, "1", "ThrowException", ["broken"])) },
    { name: "method that throws, without an invocation id", steps: t([{ send: invocation(p, undefined, "ThrowException", ["quiet"]) }], sync(mode, "/testhub")) },
    { name: "custom object to the caller", steps: t(call(mode, "1", "SendCustomObject", [{ Name: "name", Value: 42 }])) },
    { name: "transport name", steps: t(call(mode, "1", "GetActiveTransportName", [])) },
    { name: "caller connection id", steps: t(call(mode, "1", "GetCallerConnectionId", [])) },
    { name: "number of redirects", steps: [...connect(mode, "/testhub", { query: "numRedirects=3" }), ...call(mode, "1", "GetNumRedirects", [])] },
    { name: "a header that is missing", steps: t(call(mode, "1", "GetHeader", ["x-not-sent"])) },
    { name: "a header that was sent", steps: [...connect(mode, "/testhub", { headers: { "X-Test": "value" } }), ...call(mode, "1", "GetHeader", ["X-Test"])] },
    { name: "a cookie", steps: [...connect(mode, "/testhub", { headers: { Cookie: "flavour=oat" } }), ...call(mode, "1", "GetCookie", ["flavour"])] },
    { name: "a cookie that is missing", steps: t(call(mode, "1", "GetCookie", ["none"])) },
    { name: "complex object from the server", steps: t(call(mode, "1", "SendComplexObject", [])) },
    { name: "complex object echoed", steps: t(call(mode, "1", "EchoComplexObject", [complex(mode)])) },
    { name: "stream", steps: t([{ send: streamInvocation(p, "s", "Stream", []) }, { read: { completion: "s" } }]) },
    { name: "empty stream", steps: t([{ send: streamInvocation(p, "s", "EmptyStream", []) }, { read: { completion: "s" } }]) },
    { name: "stream that throws", steps: t([{ send: streamInvocation(p, "s", "StreamThrowException", ["no items"]) }, { read: { completion: "s" } }]) },
    {
      name: "stream cancelled",
      steps: t(
        [{ send: streamInvocation(p, "s", "InfiniteStream", []) }],
        sync(mode, "/testhub"),
        [{ send: cancelInvocation(p, "s") }, { read: { messages: 1 } }],
        sync(mode, "/testhub"),
      ),
    },
    { name: "cancel of an unknown invocation", steps: t([{ send: cancelInvocation(p, "nothing") }], sync(mode, "/testhub")) },
    {
      name: "upload stream",
      steps: t([
        { send: invocation(p, "1", "StreamingConcat", [], ["u"]) },
        { send: streamItem(p, "u", "a") },
        { send: streamItem(p, "u", "b") },
        { send: completion(p, "u") },
        { read: { completion: "1" } },
      ]),
    },
    {
      name: "upload stream ended with an error",
      steps: t([
        { send: invocation(p, "1", "StreamingConcat", [], ["u"]) },
        { send: streamItem(p, "u", "a") },
        { send: completion(p, "u", { error: "client gave up" }) },
        { read: { completion: "1" } },
      ]),
    },
    {
      name: "upload stream with no items",
      steps: t([{ send: invocation(p, "1", "StreamingConcat", [], ["u"]) }, { send: completion(p, "u") }, { read: { completion: "1" } }]),
    },
    {
      name: "two upload streams in one call",
      steps: i([
        { send: invocation(p, "1", "UploadPair", [], ["x", "y"]) },
        { send: streamItem(p, "y", "2") },
        { send: streamItem(p, "x", "1") },
        { send: completion(p, "x") },
        { send: completion(p, "y") },
        { read: { completion: "1" } },
      ]),
    },
    {
      name: "upload of numbers",
      steps: i([
        { send: invocation(p, "1", "UploadSum", [], ["n"]) },
        { send: streamItem(p, "n", 1) },
        { send: streamItem(p, "n", 2.5) },
        { send: completion(p, "n") },
        { read: { completion: "1" } },
      ]),
    },
    { name: "stream item for an unknown stream", steps: t([{ send: streamItem(p, "nope", "x") }], sync(mode, "/testhub")) },
    { name: "completion for an unknown stream", steps: t([{ send: completion(p, "nope") }], sync(mode, "/testhub")) },
    { name: "completion with a result nobody asked for", steps: t([{ send: completion(p, "nope", { result: 1 }) }], sync(mode, "/testhub")) },
    { name: "ping from the client", steps: t([{ send: ping(p) }], sync(mode, "/testhub")) },
    { name: "ack without stateful reconnect", steps: t([{ send: ack(p, 1) }], sync(mode, "/testhub")) },
    { name: "sequence without stateful reconnect", steps: t([{ send: sequence(p, 1) }], sync(mode, "/testhub")) },
    { name: "close from the client", steps: t([{ send: closeMessage(p) }, { read: "end" }]) },
    { name: "close with an error from the client", steps: t([{ send: closeMessage(p, "client error", true) }, { read: "end" }]) },
    {
      name: "client result",
      steps: i([{ send: invocation(p, "1", "AskCaller", []) }, { read: { messages: 1 } }, { reply: { result: 42 } }, { read: { completion: "1" } }]),
    },
    {
      name: "client result that is an error",
      steps: i([
        { send: invocation(p, "1", "AskCaller", []) },
        { read: { messages: 1 } },
        { reply: { error: "no result here" } },
        { read: { completion: "1" } },
      ]),
    },
    { name: "Counter stream", steps: i([{ send: streamInvocation(p, "s", "Counter", [3, 0]) }, { read: { completion: "s" } }]) },
    { name: "Add", steps: i(call(mode, "1", "Add", [1, 2])) },
    { name: "Add of fractions", steps: i(call(mode, "1", "Add", [0.5, 0.25])) },
    { name: "Add of large numbers", steps: i(call(mode, "1", "Add", [2 ** 40, 1])) },
    { name: "HubException", steps: i(call(mode, "1", "ThrowHubException", ["told you"])) },
    { name: "call count", steps: i(call(mode, "1", "Add", [1, 1]), call(mode, "2", "CallCount", [])) },
    { name: "user identifier without a user", steps: i(call(mode, "1", "GetUserIdentifier", [])) },
    { name: "user identifier from the query", steps: [...connect(mode, "/interophub", { query: "user=ann" }), ...call(mode, "1", "GetUserIdentifier", [])] },
    { name: "Big", steps: i(call(mode, "1", "Big", [100])) },
    { name: "server closes with an error", steps: i([{ send: invocation(p, "1", "CloseMe", ["bye", true]) }, { read: "end" }]) },
    { name: "server closes without an error", steps: i([{ send: invocation(p, "1", "CloseMe", [null, null]) }, { read: "end" }]) },
  ];
}

export const messageExchanges: Exchange[] = modes.flatMap((mode) =>
  cases(mode).map((c) => ({ name: `${modeName(mode)} ${c.name}`, steps: c.steps })),
);
