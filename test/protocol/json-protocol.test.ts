import { describe, expect, it } from "vitest";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import { MessageType, resultCompletion, voidCompletion, errorCompletion, type HubMessage } from "../../src/protocol/messages.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { SerializedHubMessage } from "../../src/protocol/serialized-message.js";

const RS = "\u001e";
const write = (message: HubMessage) => jsonHubProtocol.writeMessage(message);
const parse = (text: string, maximumMessageSize?: number) => jsonHubProtocol.parseMessages(text, { maximumMessageSize });

function parseError(input: string | Uint8Array, maximumMessageSize?: number): ProtocolError {
  try {
    jsonHubProtocol.parseMessages(input, { maximumMessageSize });
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error("expected a ProtocolError");
}

describe("JSON protocol: writing", () => {
  it("writes the golden strings .NET writes", () => {
    expect(write({ type: MessageType.Ping })).toBe(`{"type":6}${RS}`);
    expect(write(voidCompletion("0"))).toBe(`{"type":3,"invocationId":"0"}${RS}`);
    expect(write(resultCompletion("0", null))).toBe(`{"type":3,"invocationId":"0","result":null}${RS}`);
    expect(write(resultCompletion("0", "hi"))).toBe(`{"type":3,"invocationId":"0","result":"hi"}${RS}`);
    expect(write(errorCompletion("1", "Boom"))).toBe(`{"type":3,"invocationId":"1","error":"Boom"}${RS}`);
    expect(write({ type: MessageType.Invocation, target: "Message", arguments: ["a", 1] })).toBe(
      `{"type":1,"target":"Message","arguments":["a",1]}${RS}`,
    );
    expect(write({ type: MessageType.Invocation, invocationId: "s1", target: "Result", arguments: [] })).toBe(
      `{"type":1,"invocationId":"s1","target":"Result","arguments":[]}${RS}`,
    );
    expect(write({ type: MessageType.StreamItem, invocationId: "1", item: null })).toBe(
      `{"type":2,"invocationId":"1","item":null}${RS}`,
    );
    expect(write({ type: MessageType.CancelInvocation, invocationId: "4" })).toBe(`{"type":5,"invocationId":"4"}${RS}`);
    expect(write({ type: MessageType.Ack, sequenceId: 3 })).toBe(`{"type":8,"sequenceId":3}${RS}`);
  });

  it("writes a hub's calls of client functions as JSON.stringify writes their wire object, whatever the arguments", () => {
    const values: unknown[] = [
      0, -0, 1, -1, 0.1, 1e21, 1e-7, 5e-324, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
      true, false, null, "", "a", "quote \" and \\ backslash", "line\nbreak", "tab\t", "\u0000", "é", "日本語", "😀", "\ud800",
      "x".repeat(64), "x".repeat(65), `${"x".repeat(70)}"`,
      // Left to the general path: .NET's conventions, objects, and what JSON cannot hold.
      undefined, { a: 1 }, [1, "b"], new Date(Date.UTC(2000, 0, 1)), Uint8Array.of(1, 2), () => 1, { toJSON: () => "j" },
    ];
    const general = (message: { invocationId?: string; target: string; arguments: unknown[] }) =>
      JSON.stringify({ type: 1, ...(message.invocationId !== undefined ? { invocationId: message.invocationId } : {}), target: message.target, arguments: message.arguments }) + RS;
    for (const value of values) {
      if (value instanceof Date || value instanceof Uint8Array) continue; // .NET's conventions: tested apart
      for (const message of [
        { target: "tick", arguments: [value] },
        { target: "tick", arguments: [1, value, "z"] },
        { invocationId: "7", target: "Get \"answer\"", arguments: [value] },
      ]) {
        expect(write({ type: MessageType.Invocation, ...message }), String(value)).toBe(general(message));
      }
    }
    expect(write({ type: MessageType.Invocation, target: "at", arguments: [new Date(Date.UTC(2000, 0, 1))] })).toBe(
      `{"type":1,"target":"at","arguments":["2000-01-01T00:00:00Z"]}${RS}`,
    );
    expect(write({ type: MessageType.Invocation, target: "Upload", arguments: [], streamIds: ["1"] })).toBe(
      `{"type":1,"target":"Upload","arguments":[],"streamIds":["1"]}${RS}`,
    );
    expect(write({ type: MessageType.Invocation, headers: { a: "b" }, target: "h", arguments: [1] })).toBe(
      `{"type":1,"headers":{"a":"b"},"target":"h","arguments":[1]}${RS}`,
    );
  });

  it("writes allowReconnect only when it is true", () => {
    expect(write({ type: MessageType.Close })).toBe(`{"type":7}${RS}`);
    expect(write({ type: MessageType.Close, error: "Connection closed with an error.", allowReconnect: false })).toBe(
      `{"type":7,"error":"Connection closed with an error."}${RS}`,
    );
    expect(write({ type: MessageType.Close, error: "x", allowReconnect: true })).toBe(
      `{"type":7,"error":"x","allowReconnect":true}${RS}`,
    );
  });

  it("writes a returned undefined as null when the call has a result", () => {
    expect(write(resultCompletion("2", undefined))).toBe(`{"type":3,"invocationId":"2","result":null}${RS}`);
  });

  it("writes completions the same whatever the result: a date, headers, a value JSON cannot hold", () => {
    expect(write(resultCompletion("3", new Date(Date.UTC(2000, 0, 1, 0, 0, 0, 500))))).toBe(
      `{"type":3,"invocationId":"3","result":"2000-01-01T00:00:00.5Z"}${RS}`,
    );
    expect(write({ ...resultCompletion("4", [1]), headers: { a: "b" } })).toBe(
      `{"type":3,"headers":{"a":"b"},"invocationId":"4","result":[1]}${RS}`,
    );
    expect(write(resultCompletion("5", () => 1))).toBe(`{"type":3,"invocationId":"5"}${RS}`);
    expect(write(errorCompletion("6", 'say "no"'))).toBe(`{"type":3,"invocationId":"6","error":"say \\"no\\""}${RS}`);
  });

  it("writes string ids and results exactly as JSON.stringify does, escapes included", () => {
    const texts = ["", "7", "plain text", 'say "no"', "back\\slash", "tab\there", "\u0000\u001f\u007f", "é ✓ 😀", "\ud800", "x".repeat(65) + '"', "ends in a newline\n"];
    // Every ASCII character, in runs short enough for the quick path.
    for (let code = 0; code < 0x80; code += 32) texts.push(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => code + i)));
    for (let code = 0; code < 0x80; code++) texts.push(`a${String.fromCharCode(code)}b`);
    for (const text of texts) {
      expect(write(resultCompletion(text || "1", text))).toBe(`{"type":3,"invocationId":${JSON.stringify(text || "1")},"result":${JSON.stringify(text)}}${RS}`);
      expect(JSON.parse(write(resultCompletion(text || "1", text)).slice(0, -1)).result).toBe(text);
    }
  });

  it("follows .NET conventions for dates and bytes, however deep", () => {
    const args = [
      new Date(Date.UTC(2000, 0, 1)),
      new Date(Date.UTC(2000, 0, 1, 0, 0, 0, 120)),
      new Uint8Array([1, 2, 3, 255]),
      { Name: "n", When: new Date(Date.UTC(2020, 5, 6, 7, 8, 9)), Data: [Buffer.from("hello")] },
      new Date(Number.NaN),
    ];
    expect(write({ type: MessageType.Invocation, target: "T", arguments: args })).toBe(
      `{"type":1,"target":"T","arguments":["2000-01-01T00:00:00Z","2000-01-01T00:00:00.12Z","AQID/w==",` +
        `{"Name":"n","When":"2020-06-06T07:08:09Z","Data":["aGVsbG8="]},null]}${RS}`,
    );
  });

  it("encodes bytes to base64 exactly as Node does, for every padding length", () => {
    for (let length = 0; length < 8; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 97 + 13) & 255);
      expect(write(resultCompletion("0", bytes))).toBe(
        `{"type":3,"invocationId":"0","result":"${Buffer.from(bytes).toString("base64")}"}${RS}`,
      );
    }
  });

  it("encodes a shared message once per protocol", () => {
    let writes = 0;
    const counting = { ...jsonHubProtocol, isVersionSupported: () => true, parseMessages: () => [], writeMessage: (m: HubMessage) => (writes++, write(m)) };
    const message = new SerializedHubMessage({ type: MessageType.Invocation, target: "T", arguments: [1] });
    expect(message.payloadFor(counting)).toBe(message.payloadFor(counting));
    expect(writes).toBe(1);
    expect(message.payloadFor(jsonHubProtocol)).toBe(`{"type":1,"target":"T","arguments":[1]}${RS}`);
  });
});

describe("JSON protocol: parsing", () => {
  it("reads the messages the official client sends, keys in any order", () => {
    const frame =
      `{"target":"Echo","arguments":["hi"],"invocationId":"0","type":1}${RS}` +
      `{"target":"Echo","arguments":["nb"],"type":1}${RS}` +
      `{"target":"Stream","arguments":[1],"invocationId":"1","type":4}${RS}` +
      `{"target":"StreamingConcat","arguments":[],"invocationId":"3","streamIds":["2"],"type":1}${RS}` +
      `{"invocationId":"2","item":"x","type":2}${RS}` +
      `{"invocationId":"2","type":3}${RS}` +
      `{"invocationId":"2","error":"Something bad","type":3}${RS}` +
      `{"invocationId":"srv1","result":null,"type":3}${RS}` +
      `{"invocationId":"1","type":5}${RS}` +
      `{"type":6}${RS}` +
      `{"type":7}${RS}`;
    expect(parse(frame)).toEqual([
      { type: 1, invocationId: "0", target: "Echo", arguments: ["hi"] },
      { type: 1, target: "Echo", arguments: ["nb"] },
      { type: 4, invocationId: "1", target: "Stream", arguments: [1] },
      { type: 1, invocationId: "3", target: "StreamingConcat", arguments: [], streamIds: ["2"] },
      { type: 2, invocationId: "2", item: "x" },
      { type: 3, invocationId: "2", hasResult: false },
      { type: 3, invocationId: "2", hasResult: false, error: "Something bad" },
      { type: 3, invocationId: "srv1", hasResult: true, result: null },
      { type: 5, invocationId: "1" },
      { type: 6 },
      { type: 7 },
    ]);
  });

  it("keeps string headers and ignores unknown properties and message types", () => {
    expect(parse(`{"type":1,"target":"A","arguments":[],"headers":{"k":"v"},"extra":true}${RS}{"type":99,"x":1}${RS}`)).toEqual([
      { type: 1, target: "A", arguments: [], headers: { k: "v" } },
    ]);
  });

  it.each([
    ["no record separator", `{"type":6}`, "ERR_PROTOCOL_INCOMPLETE", "Message is incomplete."],
    ["an empty payload", "", "ERR_PROTOCOL_INCOMPLETE", "Message is incomplete."],
    ["invalid JSON", `{"type":${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", /^Error reading JSON: /],
    ["an array", `[1]${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected a JSON object for a hub message."],
    ["no type", `{"target":"A"}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Missing required property 'type'."],
    ["a string type", `{"type":"1"}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'type' to be of type Number."],
    ["no target", `{"type":1,"arguments":[]}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Missing required property 'target'."],
    ["a numeric target", `{"type":1,"target":5,"arguments":[]}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'target' to be a non-empty string."],
    ["no arguments", `{"type":1,"target":"A"}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Missing required property 'arguments'."],
    ["object arguments", `{"type":1,"target":"A","arguments":{}}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'arguments' to be of type Array."],
    ["a numeric invocation id", `{"type":1,"target":"A","arguments":[],"invocationId":1}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'invocationId' to be a non-empty string."],
    ["a stream invocation without id", `{"type":4,"target":"A","arguments":[]}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Missing required property 'invocationId'."],
    ["numeric stream ids", `{"type":1,"target":"A","arguments":[],"streamIds":[1]}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'streamIds' to be an array of strings."],
    ["a stream item without item", `{"type":2,"invocationId":"1"}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Missing required property 'item'."],
    ["result and error together", `{"type":3,"invocationId":"1","result":1,"error":"e"}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "The 'error' and 'result' properties are mutually exclusive."],
    ["an empty error", `{"type":3,"invocationId":"1","error":""}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'error' to be a non-empty string."],
    ["a numeric header", `{"type":5,"invocationId":"1","headers":{"a":1}}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected every header value to be a string."],
    ["a bad sequence id", `{"type":8,"sequenceId":"x"}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'sequenceId' to be a non-negative integer."],
    ["an ack with a null sequence id", `{"type":8,"sequenceId":null}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Missing required property 'sequenceId'."],
    ["a type beyond 32 bits", `{"type":2147483648}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'type' to be a 32-bit integer."],
    ["a fractional type", `{"type":1.5}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'type' to be a 32-bit integer."],
    // Every property the protocol knows is checked, also on a message whose type does not use it.
    ["a null invocation id", `{"type":1,"invocationId":null,"target":"A","arguments":[]}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'invocationId' to be a non-empty string."],
    ["a ping with a numeric error", `{"type":6,"error":5}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'error' to be of type String."],
    ["a ping with null headers", `{"type":6,"headers":null}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'headers' to be an object."],
    ["a ping with allowReconnect null", `{"type":6,"allowReconnect":null}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'allowReconnect' to be of type Boolean."],
    ["an invocation with a boolean error", `{"type":1,"target":"A","arguments":[],"error":false}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'error' to be of type String."],
    ["an invocation with null stream ids", `{"type":1,"target":"A","arguments":[],"streamIds":null}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'streamIds' to be an array of strings."],
    ["a cancel with a fractional sequence id", `{"type":5,"invocationId":"1","sequenceId":1.5}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'sequenceId' to be a non-negative integer."],
    ["a completion with a numeric target", `{"type":3,"invocationId":"1","target":5}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'target' to be a non-empty string."],
    ["an unknown type with arguments that are not an array", `{"type":99,"arguments":1}${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", "Expected 'arguments' to be of type Array."],
    ["text after the object", `{"type":6}x${RS}`, "ERR_PROTOCOL_INVALID_PAYLOAD", /^Error reading JSON: /],
  ])("rejects %s", (_name, input, code, text) => {
    const error = parseError(input);
    expect(error.code).toBe(code);
    expect(error.name).toBe("InvalidDataException");
    if (typeof text === "string") expect(error.message).toBe(text);
    else expect(error.message).toMatch(text);
  });

  it("rejects binary input", () => {
    const error = parseError(new TextEncoder().encode(`{"type":6}${RS}`));
    expect(error.code).toBe("ERR_PROTOCOL_WRONG_INPUT_TYPE");
    expect(error.message).toBe("Invalid input for JSON hub protocol. Expected UTF-8 text.");
  });

  it("limits each message by its UTF-8 size, not the whole frame", () => {
    const message = `{"type":1,"target":"A","arguments":["${"é".repeat(20)}"]}`; // 40 bytes of é
    const size = new TextEncoder().encode(message).length;
    expect(parse(`${message}${RS}${message}${RS}`, size)).toHaveLength(2);
    const error = parseError(`${message}${RS}`, size - 1);
    expect(error.code).toBe("ERR_PROTOCOL_MESSAGE_TOO_LARGE");
    expect(error.message).toBe(
      `The maximum message size of ${size - 1}B was exceeded. The message size can be configured with the maximumReceiveMessageSize option.`,
    );
  });

  it("round-trips every message it writes", () => {
    const messages: HubMessage[] = [
      { type: 1, invocationId: "1", target: "A", arguments: [1, "b", null, { c: [true] }], streamIds: ["2"], headers: { h: "v" } },
      { type: 4, invocationId: "3", target: "S", arguments: [] },
      { type: 2, invocationId: "3", item: { x: 1 } },
      resultCompletion("3", 0),
      voidCompletion("4"),
      errorCompletion("5", "nope"),
      { type: 5, invocationId: "6" },
      { type: 6 },
      { type: 7, error: "bye", allowReconnect: true },
      { type: 9, sequenceId: 12 },
    ];
    expect(parse(messages.map(write).join(""))).toEqual(messages);
  });
});
