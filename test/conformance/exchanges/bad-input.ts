import { msgpackFrame } from "../framing.js";
import type { Exchange, Step } from "../script.js";
import { call, completion, connect, invocation, modeName, modes, probe, streamInvocation, streamItem, sync, type Mode } from "./build.js";

// Bad input of every kind: what the caller is told, and whether the connection survives it (a
// call after it shows that it does; the end of the connection that it does not).

const json = (text: string) => `${text}\x1e`;

/** A JSON record with a byte that UTF-8 never has (0xff) between `before` and `after`. */
const notUtf8 = (before: string, after: string) => Buffer.concat([Buffer.from(before), Buffer.from([0xff]), Buffer.from(json(after))]);

function common(mode: Mode): { name: string; steps: Step[] }[] {
  const p = mode.protocol;
  const t = (...steps: Step[][]) => [...connect(mode, "/testhub"), ...steps.flat()];
  const i = (...steps: Step[][]) => [...connect(mode, "/interophub"), ...steps.flat()];
  const thenSync = (hub: string) => sync(mode, hub);
  return [
    { name: "unknown method", steps: t(call(mode, "1", "NoSuchMethod", []), thenSync("/testhub")) },
    { name: "unknown method without an invocation id", steps: t([{ send: invocation(p, undefined, "NoSuchMethod", []) }], thenSync("/testhub")) },
    { name: "method name in another case", steps: t(call(mode, "1", "echo", ["case"])) },
    { name: "too few arguments", steps: t(call(mode, "1", "Echo", []), thenSync("/testhub")) },
    { name: "too many arguments", steps: t(call(mode, "1", "Echo", ["a", "b"]), thenSync("/testhub")) },
    { name: "too few arguments, no invocation id", steps: t([{ send: invocation(p, undefined, "Echo", []) }], thenSync("/testhub")) },
    { name: "number for a string", steps: t(call(mode, "1", "Echo", [5]), thenSync("/testhub")) },
    { name: "object for a string", steps: t(call(mode, "1", "Echo", [{ a: 1 }]), thenSync("/testhub")) },
    { name: "strings for numbers", steps: i(call(mode, "1", "Add", ["a", "b"]), thenSync("/interophub")) },
    { name: "numeric strings for numbers", steps: i(call(mode, "1", "Add", ["1", "2"]), thenSync("/interophub")) },
    { name: "booleans for numbers", steps: i(call(mode, "1", "Add", [true, false]), thenSync("/interophub")) },
    { name: "nulls for numbers", steps: i(call(mode, "1", "Add", [null, null]), thenSync("/interophub")) },
    { name: "Add with one argument", steps: i(call(mode, "1", "Add", [1]), thenSync("/interophub")) },
    { name: "string for a list of strings", steps: i(call(mode, "1", "SendToGroups", ["g", "m"]), thenSync("/interophub")) },
    {
      name: "streaming method invoked as a plain call",
      steps: t(call(mode, "1", "Stream", []), thenSync("/testhub")),
    },
    {
      name: "plain method invoked as a stream",
      steps: t([{ send: streamInvocation(p, "s", "Echo", ["x"]) }, { read: { completion: "s" } }], thenSync("/testhub")),
    },
    {
      name: "stream invocation of an unknown method",
      steps: t([{ send: streamInvocation(p, "s", "NoSuchStream", []) }, { read: { completion: "s" } }], thenSync("/testhub")),
    },
    {
      name: "stream invocation with wrong arguments",
      steps: i([{ send: streamInvocation(p, "s", "Counter", ["x", 0]) }, { read: { completion: "s" } }], thenSync("/interophub")),
    },
    {
      name: "upload method without its stream id",
      steps: t(call(mode, "1", "StreamingConcat", []), thenSync("/testhub")),
    },
    {
      name: "stream id for a method without upload",
      steps: t([{ send: invocation(p, "1", "Echo", ["x"], ["u"]) }, { read: { completion: "1" } }], thenSync("/testhub")),
    },
    {
      name: "two stream ids for one upload",
      steps: t([{ send: invocation(p, "1", "StreamingConcat", [], ["u", "v"]) }, { read: { completion: "1" } }], thenSync("/testhub")),
    },
    {
      name: "upload item of the wrong type",
      steps: i([
        { send: invocation(p, "1", "UploadSum", [], ["n"]) },
        { send: streamItem(p, "n", "not a number") },
        { send: completion(p, "n") },
        { read: { completion: "1" } },
      ]),
    },
    {
      name: "upload item after the upload ended",
      steps: t([
        { send: invocation(p, "1", "StreamingConcat", [], ["u"]) },
        { send: completion(p, "u") },
        { read: { completion: "1" } },
        { send: streamItem(p, "u", "late") },
        ...thenSync("/testhub"),
      ]),
    },
    {
      name: "duplicate stream invocation id",
      steps: t(
        [{ send: streamInvocation(p, "s", "InfiniteStream", []) }, { send: streamInvocation(p, "s", "InfiniteStream", []) }],
        thenSync("/testhub"),
      ),
    },
  ];
}

function jsonOnly(mode: Mode): { name: string; steps: Step[] }[] {
  const t = (...steps: Step[]) => [...connect(mode, "/testhub"), ...steps];
  const fatal = (name: string, text: string | Uint8Array) => ({ name, steps: t(...probe(mode, "/testhub", typeof text === "string" ? json(text) : text)) });
  return [
    fatal("malformed JSON", `{"type":1,`),
    fatal("not an object", `[1,2]`),
    fatal("a number", `42`),
    fatal("without a type", `{"invocationId":"1","target":"Echo","arguments":["x"]}`),
    fatal("type as a string", `{"type":"1","invocationId":"1","target":"Echo","arguments":["x"]}`),
    // ASP.NET Core takes a message of an unknown type as incomplete and waits for more: one
    // exchange shows it, as the read limit is all it ends on.
    ...(mode.transport === "ws" ? [fatal("unknown message type", `{"type":99}`)] : []),
    fatal("invocation without a target", `{"type":1,"invocationId":"1","arguments":[]}`),
    fatal("invocation without arguments", `{"type":1,"invocationId":"1","target":"Echo"}`),
    fatal("arguments not an array", `{"type":1,"invocationId":"1","target":"Echo","arguments":"x"}`),
    fatal("invocation id as a number", `{"type":1,"invocationId":1,"target":"Echo","arguments":["x"]}`),
    fatal("target as a number", `{"type":1,"invocationId":"1","target":5,"arguments":["x"]}`),
    fatal("stream item without an id", `{"type":2,"item":"x"}`),
    fatal("completion without an id", `{"type":3,"result":1}`),
    fatal("completion with a result and an error", `{"type":3,"invocationId":"u","result":1,"error":"e"}`),
    fatal("cancel without an id", `{"type":5}`),
    fatal("stream ids not an array", `{"type":1,"invocationId":"1","target":"Echo","arguments":["x"],"streamIds":"u"}`),
    fatal("close with a numeric error", `{"type":7,"error":5}`),
    fatal("text that is not UTF-8 JSON", `\u0000\u0001`),
    fatal("type beyond 32 bits", `{"type":2147483648}`),
    fatal("type with a fraction", `{"type":1.5}`),
    // Every property the protocol knows is checked whatever the message's type.
    fatal("ping with a numeric error", `{"type":6,"error":5}`),
    fatal("ping with allowReconnect null", `{"type":6,"allowReconnect":null}`),
    fatal("ping with headers null", `{"type":6,"headers":null}`),
    fatal("invocation with a boolean error", `{"type":1,"invocationId":"1","target":"Echo","arguments":["x"],"error":false}`),
    fatal("invocation with stream ids null", `{"type":1,"invocationId":"1","target":"Echo","arguments":["x"],"streamIds":null}`),
    fatal("cancel with a fractional sequence id", `{"type":5,"invocationId":"1","sequenceId":1.5}`),
    fatal("completion with a numeric target", `{"type":3,"invocationId":"u","target":5}`),
    fatal("text after the message", `{"type":6}xyz`),
    fatal("negative sequence id", `{"type":9,"sequenceId":-1}`),
    fatal("ack with a huge sequence id", `{"type":8,"sequenceId":1e308}`),
    fatal("ack with a null sequence id", `{"type":8,"sequenceId":null}`),
    fatal("ack with a sequence id beyond 2^53", `{"type":8,"sequenceId":9007199254740993}`),
    fatal("invocation with a null sequence id", `{"type":1,"invocationId":"1","target":"Echo","arguments":["x"],"sequenceId":null}`),
    fatal("invocation with an empty id", `{"type":1,"invocationId":"","target":"Echo","arguments":["x"]}`),
    fatal("invocation with a null id", `{"type":1,"invocationId":null,"target":"Echo","arguments":["x"]}`),
    fatal("completion with a null error", `{"type":3,"invocationId":"u","error":null}`),
    fatal("stream item of an unknown stream with a numeric header", `{"type":2,"invocationId":"u","item":"x","headers":{"a":1}}`),
    fatal("stream item without a type", `{"invocationId":"u","item":"x"}`),
    fatal("invocation with an empty target", `{"type":1,"invocationId":"1","target":"","arguments":["x"]}`),
    fatal("stream invocation with an empty target", `{"type":4,"invocationId":"1","target":"","arguments":[]}`),
    fatal("an empty message", ``),
    // A POST is bytes, which no WebSocket layer has checked for UTF-8 (both servers close a
    // WebSocket on a text frame that is not, with 1007).
    ...(mode.transport === "ws"
      ? []
      : [
          fatal("bytes that are not UTF-8 in an argument", notUtf8(`{"type":1,"invocationId":"1","target":"Echo","arguments":["a`, `b"]}`)),
          fatal("bytes that are not UTF-8 in a header value", notUtf8(`{"type":1,"invocationId":"1","target":"Echo","headers":{"a":"`, `"},"arguments":["a"]}`)),
          fatal("bytes that are not UTF-8 in an unknown property", notUtf8(`{"type":6,"x":"`, `"}`)),
        ]),
    {
      name: "unknown properties are ignored",
      steps: t({ send: json(`{"type":1,"invocationId":"1","target":"Echo","arguments":["x"],"extra":{"a":[1]}}`) }, { read: { completion: "1" } }),
    },
    {
      name: "a property given twice, both well-formed",
      steps: t({ send: json(`{"type":1,"invocationId":"1","target":"Nope","target":"Echo","arguments":["a"],"arguments":["b"]}`) }, { read: { completion: "1" } }),
    },
    fatal("a property given twice, the first of the wrong type", `{"type":1,"invocationId":1,"invocationId":"1","target":"Echo","arguments":["x"]}`),
    {
      name: "properties in another order",
      steps: t({ send: json(`{"arguments":["x"],"target":"Echo","invocationId":"1","type":1}`) }, { read: { completion: "1" } }),
    },
    {
      name: "headers on an invocation",
      steps: t({ send: json(`{"type":1,"headers":{"a":"b"},"invocationId":"1","target":"Echo","arguments":["x"]}`) }, { read: { completion: "1" } }),
    },
    {
      name: "headers that are not strings",
      steps: t(...probe(mode, "/testhub", json(`{"type":1,"headers":{"a":1},"invocationId":"1","target":"Echo","arguments":["x"]}`))),
    },
    {
      name: "two messages in one send",
      steps: t(
        { send: json(`{"type":1,"invocationId":"1","target":"Echo","arguments":["one"]}`) + json(`{"type":1,"invocationId":"2","target":"Echo","arguments":["two"]}`) },
        { read: { completion: "2" } },
      ),
    },
    {
      name: "a message split over two sends",
      steps: t({ send: `{"type":1,"invocationId":"1",` }, { send: json(`"target":"Echo","arguments":["split"]}`) }, { read: { completion: "1" } }),
    },
  ];
}

function msgpackOnly(mode: Mode): { name: string; steps: Step[] }[] {
  const t = (...steps: Step[]) => [...connect(mode, "/testhub"), ...steps];
  const fatal = (name: string, bytes: Uint8Array) => ({ name, steps: t(...probe(mode, "/testhub", bytes)) });
  return [
    fatal("bytes that are not MessagePack", Uint8Array.from([0x03, 0xc1, 0xc1, 0xc1])),
    fatal("not an array", msgpackFrame(Uint8Array.from([0x01]))),
    fatal("an empty array", msgpackFrame([])),
    fatal("type as a string", msgpackFrame(["1", {}, "1", "Echo", ["x"]])),
    ...(mode.transport === "ws" ? [fatal("unknown message type", msgpackFrame([99]))] : []),
    fatal("invocation too short", msgpackFrame([1, {}, "1", "Echo"])),
    fatal("invocation id as a number", msgpackFrame([1, {}, 1, "Echo", ["x"]])),
    fatal("target as a number", msgpackFrame([1, {}, "1", 5, ["x"]])),
    fatal("arguments not an array", msgpackFrame([1, {}, "1", "Echo", "x"])),
    fatal("headers not a map", msgpackFrame([1, [], "1", "Echo", ["x"]])),
    fatal("completion with an unknown result kind", msgpackFrame([3, {}, "u", 9])),
    fatal("an empty message", Uint8Array.from([0x00])),
    fatal("length prefix over five bytes", Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
    fatal("type beyond 32 bits", msgpackFrame([2147483648])),
    fatal("type as a float", msgpackFrame([1.5])),
    fatal("close with a numeric allowReconnect", msgpackFrame([7, null, 1])),
    fatal("empty header value", msgpackFrame([1, { a: "" }, "1", "Echo", ["x"]])),
    fatal("empty header name", msgpackFrame([1, { "": "b" }, "1", "Echo", ["x"]])),
    fatal("empty stream id", msgpackFrame([1, {}, "1", "StreamingConcat", [], [""]])),
    fatal("headers nil", msgpackFrame([5, null, "1"])),
    fatal("invocation with an empty id", msgpackFrame([1, {}, "", "Echo", ["x"]])),
    fatal("stream ids nil", msgpackFrame([1, {}, "1", "Echo", ["x"], null])),
    fatal("ack with a huge sequence id", msgpackFrame([8, 1e308])),
    fatal("stream item without its item", msgpackFrame([2, {}, "u"])),
    fatal("invocation with an empty target", msgpackFrame([1, {}, "1", "", ["x"]])),
    fatal("unknown method with stream ids that are not an array", msgpackFrame([1, {}, "1", "NoSuchMethod", [], 5])),
    fatal("a header named __proto__", msgpackFrame([1, JSON.parse(`{"__proto__":"x"}`) as object, "1", "Echo", ["x"]])),
    // A ping, [6], then nil, in one length-prefixed message.
    fatal("bytes after the message", msgpackFrame(Uint8Array.from([0x91, 0x06, 0xc0]))),
    {
      name: "unknown trailing items are ignored",
      steps: t({ send: msgpackFrame([1, {}, "1", "Echo", ["x"], [], "extra"]) }, { read: { completion: "1" } }),
    },
    {
      name: "headers on an invocation",
      steps: t({ send: msgpackFrame([1, { a: "b" }, "1", "Echo", ["x"]]) }, { read: { completion: "1" } }),
    },
    {
      name: "two messages in one send",
      steps: t(
        { send: Buffer.concat([msgpackFrame([1, {}, "1", "Echo", ["one"]]), msgpackFrame([1, {}, "2", "Echo", ["two"]])]) },
        { read: { completion: "2" } },
      ),
    },
    {
      name: "a message split over two sends",
      steps: (() => {
        const frame = msgpackFrame([1, {}, "1", "Echo", ["split"]]);
        return t({ send: frame.subarray(0, 5) }, { send: frame.subarray(5) }, { read: { completion: "1" } });
      })(),
    },
    {
      name: "bytes for a string",
      steps: t({ send: msgpackFrame([1, {}, "1", "Echo", [new Uint8Array([104, 105])]]) }, { read: { completion: "1" } }),
    },
  ];
}

export const badInputExchanges: Exchange[] = modes.flatMap((mode) =>
  [...common(mode), ...(mode.protocol === "json" ? jsonOnly(mode) : msgpackOnly(mode))].map((c) => ({
    name: `${modeName(mode)} ${c.name}`,
    steps: c.steps,
  })),
);
