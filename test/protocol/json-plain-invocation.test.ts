import { describe, expect, it } from "vitest";
import { parsePlainInvocation } from "../../src/protocol/json-plain-invocation.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";

const RS = "\u001e";

/**
 * The fast path on `record` as the transports hand it over: decoded text with the bytes it came
 * from, after another record in the same frame (so positions do not start at 0).
 */
function fast(record: string) {
  const text = `{"type":6}${RS}${record}${RS}`;
  const bytes = Buffer.from(text);
  if (bytes.length !== text.length) throw new Error("the fast path is only for one character per byte");
  return parsePlainInvocation(text, bytes, 11, text.length - 1);
}

/** Whether every character of `text` is one UTF-8 byte. */
const ascii = (text: string) => Buffer.byteLength(text) === text.length;

/** The same record with a space after every structural character: only the full parser reads it. */
function spaced(record: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < record.length; i++) {
    const c = record[i]!;
    out += c;
    if (c === "\\" && inString) out += record[++i];
    else if (c === '"') inString = !inString;
    else if (!inString && "{}[],:".includes(c)) out += " ";
  }
  return out;
}

/** What the record means, read by JSON.parse, if it is an invocation the fast path may read. */
function oracle(record: string): unknown {
  const value = JSON.parse(record) as Record<string, unknown>;
  const { type, target, arguments: args, invocationId, ...rest } = value;
  expect(rest).toEqual({});
  expect(type).toBe(1);
  expect(typeof target === "string" && target.length > 0).toBe(true);
  expect(Array.isArray(args)).toBe(true);
  if (invocationId !== undefined) expect(typeof invocationId === "string" && invocationId.length > 0).toBe(true);
  return invocationId === undefined ? { type, target, arguments: args } : { type, target, arguments: args, invocationId };
}

const common = [
  // The official JavaScript client: target, arguments, invocationId, type.
  `{"target":"Echo","arguments":["x"],"invocationId":"0","type":1}`,
  `{"target":"Send","arguments":[{"a":[1,2,{"b":"],\\"type\\":1"}]},null,true,1.5e3],"type":1}`,
  // .NET's order and hubwire's own client: type, invocationId, target, arguments.
  `{"type":1,"invocationId":"42","target":"Echo","arguments":["x","y"]}`,
  `{"type":1,"target":"Notify","arguments":[]}`,
  `{"arguments":[[]],"target":"Ünïcode","type":1,"invocationId":"id-ü"}`,
  `{"type":1,"arguments":["a\\"b",""],"target":"T"}`,
  // Arguments read without JSON.parse, and ones only JSON.parse reads.
  `{"type":1,"invocationId":"9","target":"Add","arguments":[1,-2,0,-0,123456789012345,true,false,null,"s"," ~!"]}`,
  `{"type":1,"invocationId":"10","target":"Add","arguments":[1.5,2e3,-1E-2,1234567890123456,"a\\u0062",{},0.0]}`,
];

describe("the plain invocation fast path", () => {
  it("reads the common invocations exactly as the full parser reads them", () => {
    for (const record of common.filter(ascii)) {
      const message = fast(record);
      expect(message, record).toBeDefined();
      expect(message).toEqual(oracle(record));
      // The full parser on the same message written with spaces (which the fast path leaves alone).
      expect(fast(spaced(record))).toBeUndefined();
      expect(jsonHubProtocol.parseMessages(spaced(record) + RS)).toEqual([message]);
    }
  });

  it("gives the same messages with the bytes as without, whatever the frame holds", () => {
    const frames = [
      common.map((record) => record + RS).join(""),
      common.filter(ascii).map((record) => record + RS).join(""),
      `{"type":6}${RS}{"type":1,"target":"Echo","arguments":["é"]}${RS}`,
      // Bytes that are not UTF-8 decode to one U+FFFD each: the text still has one character per byte.
      `{"type":1,"target":"Echo","arguments":["\x80"]}${RS}`,
    ];
    for (const frame of frames) {
      const bytes = frame.includes("\x80") ? Buffer.from(frame, "latin1") : Buffer.from(frame);
      const text = bytes.toString("utf8");
      const withBytes = jsonHubProtocol.parseMessages(text, { utf8: bytes });
      expect(withBytes).toEqual(jsonHubProtocol.parseMessages(text));
      expect(withBytes.length).toBeGreaterThan(0);
    }
  });

  it("applies the size limit and the framing rules with the bytes too", () => {
    const record = `{"type":1,"target":"Echo","arguments":["xxxx"]}`;
    const text = record + RS;
    const utf8 = Buffer.from(text);
    expect(jsonHubProtocol.parseMessages(text, { utf8, maximumMessageSize: record.length })).toHaveLength(1);
    expect(() => jsonHubProtocol.parseMessages(text, { utf8, maximumMessageSize: record.length - 1 })).toThrow(/maximum message size/);
    expect(() => jsonHubProtocol.parseMessages(record, { utf8: Buffer.from(record) })).toThrow(/incomplete/);
  });

  it("reads only the part of a larger text it is given (a multiplexed hub's envelope in its frame)", () => {
    const records = common.filter(ascii).map((record) => record + RS).join("");
    // The part between two envelope headers, as a multiplexed text frame holds it.
    const frame = `1,9;{"type":6}${RS}2,${records.length};${records}3,11;{"type":6}${RS}`;
    const start = frame.indexOf(records);
    const end = start + records.length;
    const utf8 = Buffer.from(frame);
    expect(jsonHubProtocol.parseMessages(frame, { utf8, start, end })).toEqual(jsonHubProtocol.parseMessages(records));
    // Framing and size rules hold for the part: it must end with RS, and each record is measured.
    expect(() => jsonHubProtocol.parseMessages(frame, { utf8, start, end: end - 1 })).toThrow(/incomplete/);
    expect(() => jsonHubProtocol.parseMessages(frame, { utf8, start, end, maximumMessageSize: 20 })).toThrow(/maximum message size/);
  });

  it("leaves every other record to the full parser", () => {
    const others = [
      `{"type":1,"target":"Echo","arguments":["x"],"streamIds":["1"]}`,
      `{"type":1,"headers":{"a":"b"},"target":"Echo","arguments":[]}`,
      `{"type":4,"invocationId":"1","target":"Echo","arguments":[]}`,
      `{"type":12,"target":"Echo","arguments":[]}`,
      `{"type":1.0,"target":"Echo","arguments":[]}`,
      `{"type":1,"target":"","arguments":[]}`,
      `{"type":1,"invocationId":"","target":"Echo","arguments":[]}`,
      `{"arguments":[],"target":"Echo","invocationId":"","type":1}`,
      `{"type":1,"invocationId":null,"target":"Echo","arguments":[]}`,
      `{"type":1,"invocationId":7,"target":"Echo","arguments":[]}`,
      `{"type":1,"target":"Ec\\u0068o","arguments":[]}`,
      `{"type":1,"target":"Echo","arguments":{}}`,
      `{"type":1,"target":"Echo"}`,
      `{"type":1,"arguments":[]}`,
      `{"target":"Echo","arguments":[]}`,
      `{"type":1,"type":1,"target":"Echo","arguments":[]}`,
      `{"target":"A","arguments":[],"target":"B","type":1}`,
      `{"type":1,"target":"Echo","arguments":[1,]}`,
      `{"type":1,"target":"Echo","arguments":[1]]}`,
      `{"type":1,"target":"Echo","arguments":[1],}`,
      `{"type":1,"target":"Echo","arguments":["x"],"type":1}`,
      `{"arguments":["a","type":1}`,
      `{"arguments":[],"target":"a\\"b","type":1}`,
      `{"type":1,"target":"Echo","arguments":[` + "\u0001" + `]}`,
      `{"type":1,"target":"Echo","arguments":["a` + "\u0001" + `"]}`,
      `{"type":1,"target":"Echo","arguments":[01]}`,
      `{"type":1,"target":"Echo","arguments":[-]}`,
      `{"type":1,"target":"Echo","arguments":[1.]}`,
      `{"type":1,"target":"Echo","arguments":[1e]}`,
      `{"type":1,"target":"Echo","arguments":[tru]}`,
      `{"type":1,"target":"Echo","arguments":[nulll]}`,
      `{"type":1,"target":"Echo","arguments":["a"]x}`,
      `[{"type":1,"target":"Echo","arguments":[]}]`,
      ` {"type":1,"target":"Echo","arguments":[]}`,
    ];
    for (const record of others) expect(fast(record), record).toBeUndefined();
  });

  it("never reads a damaged record differently from JSON.parse", () => {
    // Deterministic mutations of the common records: whatever the fast path accepts must be valid
    // JSON that means exactly what the fast path returned.
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = `{}[],:"\\01a-.et `;
    const asciiCommon = common.filter(ascii);
    let accepted = 0;
    for (let round = 0; round < 20_000; round++) {
      let record = asciiCommon[random(asciiCommon.length)]!;
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(record.length + 1);
        const cut = random(3) === 0 ? 1 : 0;
        const insert = random(2) === 0 ? alphabet[random(alphabet.length)]! : "";
        record = record.slice(0, at) + insert + record.slice(at + cut);
      }
      const message = fast(record);
      if (message === undefined) continue;
      accepted++;
      expect(message, record).toEqual(oracle(record));
    }
    expect(accepted).toBeGreaterThan(100); // some mutations keep the record plain and valid
  });
});
