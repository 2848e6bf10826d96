import { describe, expect, it } from "vitest";
import { parsePlainInvocation } from "../../src/protocol/json-plain-invocation.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";

const RS = "\u001e";

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
];

describe("the plain invocation fast path", () => {
  it("reads the common invocations exactly as the full parser reads them", () => {
    for (const record of common) {
      const fast = parsePlainInvocation(record);
      expect(fast, record).toBeDefined();
      expect(fast).toEqual(oracle(record));
      // The full parser on the same message written with spaces (which the fast path leaves alone).
      expect(parsePlainInvocation(spaced(record))).toBeUndefined();
      expect(jsonHubProtocol.parseMessages(spaced(record) + RS)).toEqual([fast]);
    }
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
      `[{"type":1,"target":"Echo","arguments":[]}]`,
      ` {"type":1,"target":"Echo","arguments":[]}`,
    ];
    for (const record of others) expect(parsePlainInvocation(record), record).toBeUndefined();
  });

  it("never reads a damaged record differently from JSON.parse", () => {
    // Deterministic mutations of the common records: whatever the fast path accepts must be valid
    // JSON that means exactly what the fast path returned.
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = `{}[],:"\\1a `;
    let accepted = 0;
    for (let round = 0; round < 20_000; round++) {
      let record = common[random(common.length)]!;
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(record.length + 1);
        const cut = random(3) === 0 ? 1 : 0;
        const insert = random(2) === 0 ? alphabet[random(alphabet.length)]! : "";
        record = record.slice(0, at) + insert + record.slice(at + cut);
      }
      const fast = parsePlainInvocation(record);
      if (fast === undefined) continue;
      accepted++;
      expect(fast, record).toEqual(oracle(record));
    }
    expect(accepted).toBeGreaterThan(100); // some mutations keep the record plain and valid
  });
});
