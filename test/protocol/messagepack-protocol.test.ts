import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { frameBinaryRecord, splitBinaryRecords } from "../../src/protocol/binary-framing.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import { messagePackHubProtocol as msgpack } from "../../src/protocol/messagepack-protocol.js";
import { errorCompletion, resultCompletion, voidCompletion, type HubMessage } from "../../src/protocol/messages.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { SerializedHubMessage } from "../../src/protocol/serialized-message.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex").replace(/(..)(?!$)/g, "$1 ");
const record = (value: unknown) => frameBinaryRecord(encode(value, { useBigInt64: true }));
const parse = (bytes: Uint8Array, maximumMessageSize?: number) => msgpack.parseMessages(bytes, { maximumMessageSize });

function parseError(input: string | Uint8Array, maximumMessageSize?: number): ProtocolError {
  try {
    msgpack.parseMessages(input, { maximumMessageSize });
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error("expected a ProtocolError");
}

describe("MessagePack protocol: golden bytes", () => {
  it("reads the spec's example record: a non-blocking invocation of method(42)", () => {
    const bytes = Uint8Array.from(Buffer.from("960180c0a66d6574686f64912a90", "hex"));
    expect(parse(frameBinaryRecord(bytes))).toEqual([{ type: 1, target: "method", arguments: [42] }]);
  });

  it("writes what .NET writes", () => {
    expect(hex(msgpack.writeMessage({ type: 6 }))).toBe("02 91 06");
    // Six elements with an empty streamIds array.
    expect(hex(msgpack.writeMessage({ type: 1, target: "method", arguments: [42] }))).toBe(
      "0e 96 01 80 c0 a6 6d 65 74 68 6f 64 91 2a 90",
    );
    expect(hex(msgpack.writeMessage(voidCompletion("1")))).toBe("06 94 03 80 a1 31 02");
    expect(hex(msgpack.writeMessage(resultCompletion("1", null)))).toBe("07 95 03 80 a1 31 03 c0");
    expect(hex(msgpack.writeMessage(errorCompletion("1", "x")))).toBe("08 95 03 80 a1 31 01 a1 78");
    expect(hex(msgpack.writeMessage({ type: 7 }))).toBe("04 93 07 c0 c2");
    expect(hex(msgpack.writeMessage({ type: 7, error: "e", allowReconnect: true }))).toBe("05 93 07 a1 65 c3");
  });

  it("frames lengths as 7-bit groups, least significant first", () => {
    for (const [length, prefix] of [
      [0, "00"],
      [127, "7f"],
      [128, "80 01"],
      [16_384, "80 80 01"],
      [300_000, "e0 a7 12"],
    ] as const) {
      const framed = frameBinaryRecord(new Uint8Array(length));
      expect(hex(framed.subarray(0, framed.length - length))).toBe(prefix);
      expect(splitBinaryRecords(framed, null)[0]!.length).toBe(length);
    }
  });
});

describe("MessagePack protocol: values", () => {
  it("carries Date as the timestamp extension and bytes as bin, both ways", () => {
    const when = new Date(Date.UTC(2000, 0, 1));
    const bytes = new Uint8Array([1, 2, 3]);
    const written = msgpack.writeMessage(resultCompletion("1", { DateTime: when, ByteArray: bytes }));
    const body = decode(splitBinaryRecords(written, null)[0]!) as unknown[];
    expect(body[4]).toEqual({ DateTime: when, ByteArray: bytes });
    // 0xd6 0xff: fixext 4 of type -1, the timestamp extension
    expect(hex(written)).toContain("d6 ff");
    const [message] = parse(written);
    expect(message).toEqual(resultCompletion("1", { DateTime: when, ByteArray: bytes }));
  });

  it("keeps 64-bit integers exact: safe ones as numbers, larger ones as bigints", () => {
    const big = 2n ** 60n + 1n;
    const input = record([1, {}, "1", "Add", [2n ** 40n, big, -(2n ** 62n)]]);
    expect(parse(input)).toEqual([
      { type: 1, invocationId: "1", target: "Add", arguments: [2 ** 40, big, -(2n ** 62n)] },
    ]);
    const written = msgpack.writeMessage(resultCompletion("1", big));
    expect((parse(written)[0] as { result: unknown }).result).toBe(big);
  });

  it("round-trips every message type", () => {
    const messages: HubMessage[] = [
      { type: 1, invocationId: "1", target: "A", arguments: [1, "b", null, { c: [true] }], streamIds: ["2"], headers: { h: "v" } },
      { type: 1, target: "B", arguments: [] },
      { type: 4, invocationId: "3", target: "S", arguments: [1.5] },
      { type: 2, invocationId: "3", item: { x: 1 } },
      resultCompletion("3", 0),
      voidCompletion("4"),
      errorCompletion("5", "nope"),
      { type: 5, invocationId: "6" },
      { type: 6 },
      { type: 7, error: "bye", allowReconnect: true },
      { type: 7 },
      { type: 8, sequenceId: 12 },
      { type: 9, sequenceId: 1 },
    ];
    const joined = Buffer.concat(messages.map((m) => msgpack.writeMessage(m)));
    expect(parse(joined)).toEqual(messages);
  });

  it("reads the 5-element invocation and the 2-element Close the official client sends", () => {
    expect(parse(Buffer.concat([record([1, {}, "0", "Echo", ["hi"]]), record([7, null])]))).toEqual([
      { type: 1, invocationId: "0", target: "Echo", arguments: ["hi"] },
      { type: 7 },
    ]);
  });

  it("skips unknown message types", () => {
    expect(parse(Buffer.concat([record([99, "x"]), record([6])]))).toEqual([{ type: 6 }]);
  });

  it("encodes a broadcast once per protocol", () => {
    const message = new SerializedHubMessage({ type: 1, target: "T", arguments: [1] });
    const binary = message.payloadFor(msgpack);
    expect(message.payloadFor(msgpack)).toBe(binary);
    expect(message.payloadFor(jsonHubProtocol)).toBe(message.payloadFor(jsonHubProtocol));
    expect(binary).toBeInstanceOf(Uint8Array);
  });
});

describe("MessagePack protocol: malformed input", () => {
  it.each([
    ["a truncated varint", new Uint8Array([0x80]), "ERR_PROTOCOL_INCOMPLETE", "Incomplete message."],
    ["a truncated body", new Uint8Array([0x05, 0x91]), "ERR_PROTOCOL_INCOMPLETE", "Incomplete message."],
    ["a six-byte varint", new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Messages over 2GB in size are not supported."],
    ["an empty body", new Uint8Array([0x00]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload: an empty message."],
    ["a non-array body", record({ type: 1 }), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload: a message must be a non-empty array."],
    ["bad MessagePack", frameBinaryRecord(new Uint8Array([0xc1])), "ERR_PROTOCOL_INVALID_PAYLOAD", /^Invalid MessagePack: /],
    ["a string type", record(["1"]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload: the message type must be a number."],
    ["a short invocation", record([1, {}, "1", "A"]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload for Invocation message: expected at least 5 elements."],
    ["a numeric target", record([1, {}, "1", 5, []]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload for Invocation message: the target must be a non-empty string."],
    ["map arguments", record([1, {}, "1", "A", {}]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload for Invocation message: the arguments must be an array."],
    ["a numeric id", record([4, {}, 1, "A", []]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload for StreamInvocation message: the invocation id must be a non-empty string."],
    ["numeric headers", record([5, { a: 1 }, "1"]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload for CancelInvocation message: header values must be strings."],
    ["an unknown completion kind", record([3, {}, "1", 9]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload for Completion message: unknown result kind."],
    ["a completion without its result", record([3, {}, "1", 3]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload for Completion message: expected at least 5 elements."],
    ["a type beyond 32 bits", record([2 ** 31]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload: the message type must be a 32-bit integer."],
    ["a fractional type", record([1.5]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload: the message type must be a 32-bit integer."],
    ["a close with a numeric allowReconnect", record([7, null, 1]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload for Close message: allowReconnect must be a boolean."],
    ["an empty header value", record([5, { a: "" }, "1"]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload for CancelInvocation message: a header's name and value must not be empty."],
    ["an empty header name", record([5, { "": "b" }, "1"]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload for CancelInvocation message: a header's name and value must not be empty."],
    ["an empty stream id", record([1, {}, "1", "A", [], [""]]), "ERR_PROTOCOL_INVALID_PAYLOAD", "Invalid payload for Invocation message: the stream ids must be an array of non-empty strings."],
    ["bytes after the array", frameBinaryRecord(new Uint8Array([0x91, 0x06, 0xc0])), "ERR_PROTOCOL_INVALID_PAYLOAD", /^Invalid MessagePack: Extra /],
  ])("rejects %s", (_name, input, code, text) => {
    const error = parseError(input);
    expect(error.code).toBe(code);
    if (typeof text === "string") expect(error.message).toBe(text);
    else expect(error.message).toMatch(text);
  });

  it("rejects text input", () => {
    expect(parseError("{}").code).toBe("ERR_PROTOCOL_WRONG_INPUT_TYPE");
  });

  it("checks the size limit from the length prefix, before the body arrives", () => {
    const error = parseError(new Uint8Array([0x80, 0x80, 0x04]), 1024); // announces 65 536 bytes
    expect(error.code).toBe("ERR_PROTOCOL_MESSAGE_TOO_LARGE");
    expect(parse(record([6]), 2)).toEqual([{ type: 6 }]);
  });
});
