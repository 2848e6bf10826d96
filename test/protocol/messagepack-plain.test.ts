import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { frameBinaryRecord } from "../../src/protocol/binary-framing.js";
import { writePlainCompletion } from "../../src/protocol/messagepack-plain-completion.js";
import { readPlainInvocation, writePlainInvocation } from "../../src/protocol/messagepack-plain-invocation.js";
import { messagePackHubProtocol as msgpack } from "../../src/protocol/messagepack-protocol.js";
import type { CompletionMessage, InvocationMessage } from "../../src/protocol/messages.js";

const PING = Uint8Array.of(0x02, 0x91, 0x06);
const body = (value: unknown) => encode(value, { useBigInt64: true });

/**
 * The fast path on a record body placed as a frame holds it: after a ping record and before
 * another record, so positions do not start at 0 and bytes past the end are there to misread.
 */
function fast(record: Uint8Array) {
  const frame = new Uint8Array(PING.length + record.length + PING.length);
  frame.set(PING);
  frame.set(record, PING.length);
  frame.set(PING, PING.length + record.length);
  return readPlainInvocation(frame, PING.length, PING.length + record.length);
}

/** What the record means, read by the library's decoder, for an invocation the fast path may read. */
function oracle(record: Uint8Array): unknown {
  const wire = decode(record) as unknown[];
  expect(Array.isArray(wire) && (wire.length === 5 || wire.length === 6)).toBe(true);
  const [type, headers, invocationId, target, args, streamIds] = wire;
  expect(type).toBe(1);
  expect(typeof headers === "object" && headers !== null && Object.keys(headers).length === 0).toBe(true);
  expect(typeof target === "string" && target.length > 0).toBe(true);
  expect(Array.isArray(args)).toBe(true);
  expect(streamIds === undefined || (Array.isArray(streamIds) && streamIds.length === 0)).toBe(true);
  if (invocationId === null) return { type, target, arguments: args };
  expect(typeof invocationId === "string" && invocationId.length > 0).toBe(true);
  return { type, target, arguments: args, invocationId };
}

const longText = (length: number) => "abcdefghij".repeat(Math.ceil(length / 10)).slice(0, length);

/** Arguments the fast path reads: every integer width's edges, floats, strings of every header. */
const plainArguments: unknown[] = [
  0, 1, 127, 128, 255, 256, 65_535, 65_536, 4_294_967_295, -1, -32, -33, -128, -129, -32_768, -32_769, -2_147_483_648,
  0.5, -1.25, 1e300, Number.NaN, Number.POSITIVE_INFINITY, true, false, null,
  "", "a", "Echo", "é", "日本語", "😀", longText(8), longText(31), longText(32), longText(33), longText(255),
  longText(256), longText(65_535), `é${longText(40)}`, "\ufeffab", // a short string keeps its byte order mark
];

describe("the MessagePack plain invocation fast path", () => {
  it("reads the invocations clients send exactly as the library's decoder reads them", () => {
    const records = [
      // The official JavaScript client and .NET: six elements, empty stream ids.
      body([1, {}, "0", "Echo", ["x"], []]),
      body([1, {}, null, "Notify", [], []]),
      // Five elements.
      body([1, {}, "42", "Echo", ["x", 2]]),
      body([1, {}, "id-ü", "Ünïcode", ["ü"]]),
      ...plainArguments.map((value) => body([1, {}, "9", "Echo", [value]])),
      body([1, {}, "10", "Many", plainArguments.slice(0, 15)]),
      // A float 32, which the library's encoder never writes but other clients do.
      Uint8Array.from([0x95, 0x01, 0x80, 0xa1, 0x31, 0xa1, 0x54, 0x91, 0xca, 0x3f, 0xc0, 0x00, 0x00]),
    ];
    for (const record of records) {
      const message = fast(record);
      expect(message, Buffer.from(record).toString("hex")).toBeDefined();
      expect(message).toEqual(oracle(record));
      expect(msgpack.parseMessages(frameBinaryRecord(record))).toEqual([message]);
    }
  });

  it("leaves every other record to the library's decoder", () => {
    const timestamp = new Date(0);
    const records = [
      body([1, { key: "value" }, "1", "Echo", []]), // headers
      body([1, {}, "1", "Upload", [], ["s1"]]), // stream ids
      body([4, {}, "1", "Counter", [10], []]), // a stream invocation
      body([3, {}, "1", 3, 42]), // a completion
      body([1, {}, "1", "Echo", [{ a: 1 }]]),
      body([1, {}, "1", "Echo", [[1, 2]]]),
      body([1, {}, "1", "Echo", [new Uint8Array([1, 2])]]),
      body([1, {}, "1", "Echo", [timestamp]]),
      body([1, {}, "1", "Echo", [BigInt(2) ** BigInt(60)]]),
      body([1, {}, "1", "Echo", [longText(16)]]).slice(0, -1), // truncated
      Uint8Array.from([...body([1, {}, "1", "Echo", []]), 0xc0]), // a byte after the array
      body([1, {}, "", "Echo", []]), // empty id: no id, as .NET reads it
      body([1, null, "7", "Send", [1, "two", null]]), // nil headers: an error
      body([1, {}, "7", "Send", [1, "two", null], null]), // nil stream ids: an error
      body([1, {}, "1", "", []]), // empty target: an error
      body([1, {}, 1, "Echo", []]), // numeric id: an error
      body([1, {}, "1", "Echo", "x"]), // arguments not an array: an error
      body([1, {}, "1", "Echo", Array.from({ length: 16 }, () => 0)]), // array 16
      // Not UTF-8, short and long.
      Uint8Array.from([0x95, 0x01, 0x80, 0xa1, 0x31, 0xa1, 0x54, 0x91, 0xa2, 0xc3, 0x28]),
      Uint8Array.from([0x95, 0x01, 0x80, 0xa1, 0x31, 0xa1, 0x54, 0x91, 0xd9, 40, ...new Array<number>(39).fill(0x61), 0xff]),
      // A long string that starts with a byte order mark.
      body([1, {}, "1", "Echo", [`\ufeff${longText(60)}`]]),
    ];
    for (const record of records) expect(fast(record), Buffer.from(record).toString("hex")).toBeUndefined();
    // What the general path makes of them is its own tests' business; two examples.
    expect(msgpack.parseMessages(frameBinaryRecord(records[0]!))).toEqual([
      { type: 1, invocationId: "1", target: "Echo", arguments: [], headers: { key: "value" } },
    ]);
    expect(msgpack.parseMessages(frameBinaryRecord(records[11]!))).toEqual([{ type: 1, target: "Echo", arguments: [] }]);
  });

  it("agrees with the library's decoder on 20,000 mutated records", () => {
    const seeds = [
      body([1, {}, "123", "Echo", ["payload", 42, -7, true, null, 1.5]]),
      body([1, {}, null, "Notify", [longText(40), 65_536, -40_000], []]),
      body([1, {}, "9", "T", ["é日", 300, 0.25]]),
    ];
    let random = 42;
    const next = (n: number) => {
      random = (random * 1_103_515_245 + 12_345) % 2_147_483_648;
      return random % n;
    };
    let read = 0;
    for (let round = 0; round < 20_000; round++) {
      const bytes = Array.from(seeds[round % seeds.length]!);
      for (let edits = 1 + next(3); edits > 0; edits--) {
        const at = next(bytes.length);
        const edit = next(4);
        if (edit === 0) bytes[at] = next(256);
        else if (edit === 1) bytes.splice(at, 1);
        else if (edit === 2) bytes.splice(at, 0, next(256));
        else bytes.length = at;
      }
      const record = Uint8Array.from(bytes);
      const message = fast(record);
      if (message === undefined) continue;
      read++;
      expect(message, Buffer.from(record).toString("hex")).toEqual(oracle(record));
    }
    expect(read).toBeGreaterThan(1_000); // the mutations left enough records plain to check
  });
});

/** A completion as the general encoder writes it: the array `toWireArray` builds, framed. */
function generalRecord(message: CompletionMessage): Uint8Array {
  const wire =
    message.error !== undefined
      ? [3, {}, message.invocationId, 1, message.error]
      : message.hasResult
        ? [3, {}, message.invocationId, 3, message.result ?? null]
        : [3, {}, message.invocationId, 2];
  return frameBinaryRecord(encode(wire, { useBigInt64: true, ignoreUndefined: false }));
}

describe("the MessagePack plain completion writer", () => {
  const plainResults: unknown[] = [
    ...plainArguments.filter((value) => typeof value !== "string" || /^[\x00-\x7f]{0,255}$/.test(value)),
    -0, 2 ** 32, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53) + 1, Number.MIN_VALUE, undefined, "\x7f", "\x00",
  ];

  it("writes plain results, void and errors byte for byte as the general encoder does", () => {
    const messages: CompletionMessage[] = [
      ...plainResults.map((result): CompletionMessage => ({ type: 3, invocationId: "1", hasResult: true, result })),
      { type: 3, invocationId: "12345", hasResult: false },
      { type: 3, invocationId: longText(31), hasResult: false },
      { type: 3, invocationId: longText(32), hasResult: true, result: longText(255) },
      { type: 3, invocationId: "1", hasResult: false, error: "An unexpected error occurred invoking 'Echo' on the server." },
    ];
    for (const message of messages) {
      const written = writePlainCompletion(message);
      expect(written, JSON.stringify(message)).toBeDefined();
      expect(Buffer.from(written!).toString("hex"), String(message.result)).toBe(Buffer.from(generalRecord(message)).toString("hex"));
      expect(msgpack.writeMessage(message)).toEqual(written);
    }
  });

  it("leaves other values to the general encoder", () => {
    const others: CompletionMessage[] = [
      { type: 3, invocationId: "1", hasResult: true, result: "é" },
      { type: 3, invocationId: "1", hasResult: true, result: `${longText(40)}€` },
      { type: 3, invocationId: "1", hasResult: true, result: longText(256) },
      { type: 3, invocationId: "1", hasResult: true, result: { a: 1 } },
      { type: 3, invocationId: "1", hasResult: true, result: [1] },
      { type: 3, invocationId: "1", hasResult: true, result: new Date(0) },
      { type: 3, invocationId: "1", hasResult: true, result: BigInt(1) },
      { type: 3, invocationId: "ü", hasResult: false },
      { type: 3, invocationId: "1", hasResult: false, error: "Falló" },
    ];
    for (const message of others) {
      expect(writePlainCompletion(message), String(message.result)).toBeUndefined();
      expect(Buffer.from(msgpack.writeMessage(message)).toString("hex")).toBe(Buffer.from(generalRecord(message)).toString("hex"));
    }
  });
});

/** An invocation as the general encoder writes it: six elements, as `toWireArray` builds them, framed. */
function generalInvocation(message: InvocationMessage): Uint8Array {
  const wire = [1, {}, message.invocationId ?? null, message.target, message.arguments, message.streamIds ?? []];
  return frameBinaryRecord(encode(wire, { useBigInt64: true, ignoreUndefined: false }));
}

describe("the MessagePack plain invocation writer", () => {
  const plain = plainArguments.filter((value) => typeof value !== "string" || /^[\x00-\x7f]{0,255}$/.test(value));

  it("writes a hub's calls of client functions byte for byte as the general encoder does", () => {
    const messages: InvocationMessage[] = [
      ...plain.map((value): InvocationMessage => ({ type: 1, target: "tick", arguments: [value] })),
      { type: 1, target: "ReceiveMessage", arguments: ["alice", "hello there", 3, null, true] },
      { type: 1, target: "none", arguments: [] },
      { type: 1, target: "many", arguments: plain.slice(0, 15) },
      { type: 1, target: longText(31), arguments: [1] },
      { type: 1, target: longText(255), arguments: [longText(255)] },
      { type: 1, invocationId: "7", target: "GetAnswer", arguments: ["question"] }, // a client result
      { type: 1, invocationId: longText(32), target: "GetAnswer", arguments: [], streamIds: [] },
    ];
    for (const message of messages) {
      const written = writePlainInvocation(message);
      expect(written, JSON.stringify(message.arguments)).toBeDefined();
      expect(Buffer.from(written!).toString("hex"), String(message.arguments[0])).toBe(Buffer.from(generalInvocation(message)).toString("hex"));
      expect(msgpack.writeMessage(message)).toEqual(written);
    }
  });

  it("leaves other invocations to the general encoder", () => {
    const others: InvocationMessage[] = [
      { type: 1, target: "tick", arguments: ["é"] },
      { type: 1, target: "tick", arguments: [longText(256)] },
      { type: 1, target: "tick", arguments: [{ a: 1 }] },
      { type: 1, target: "tick", arguments: [[1]] },
      { type: 1, target: "tick", arguments: [new Uint8Array([1])] },
      { type: 1, target: "tick", arguments: [new Date(0)] },
      { type: 1, target: "tick", arguments: [BigInt(1)] },
      { type: 1, target: "tick", arguments: [undefined] },
      { type: 1, target: "many", arguments: plain.slice(0, 16) },
      { type: 1, target: "Grüße", arguments: [] },
      { type: 1, invocationId: "ü", target: "tick", arguments: [] },
      { type: 1, target: "Upload", arguments: [], streamIds: ["1"] },
    ];
    for (const message of others) {
      expect(writePlainInvocation(message), JSON.stringify(message.target)).toBeUndefined();
      expect(Buffer.from(msgpack.writeMessage(message)).toString("hex")).toBe(Buffer.from(generalInvocation(message)).toString("hex"));
    }
  });
});
