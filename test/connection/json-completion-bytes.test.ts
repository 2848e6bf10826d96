import { describe, expect, it } from "vitest";
import { writeJsonMessageUtf8, writePlainCompletionUtf8 } from "../../src/connection/json-completion-bytes.js";
import { jsonHubProtocol as json } from "../../src/protocol/json-protocol.js";
import { MessageType, type CompletionMessage } from "../../src/protocol/messages.js";

const result = (value: unknown, invocationId = "7"): CompletionMessage => ({ type: MessageType.Completion, invocationId, hasResult: true, result: value });
const error = (text: string, invocationId = "7"): CompletionMessage => ({ type: MessageType.Completion, invocationId, hasResult: false, error: text });
const utf8 = (text: string) => new Uint8Array(Buffer.from(text, "utf8"));
const printable = (length: number) => "abcdefghij".repeat(Math.ceil(length / 10)).slice(0, length);

// The bytes must be exactly the text writer's record in UTF-8: the text writer is the oracle.
describe("a plain JSON Completion written as UTF-8 bytes", () => {
  const plain: Array<[string, CompletionMessage]> = [
    ["a short string", result("hello")],
    ["the empty string", result("")],
    ["a string of 255 characters", result(printable(255))],
    ["every printable ASCII character but quote and backslash", result(Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).filter((c) => c !== '"' && c !== "\\").join(""))],
    ["null", result(null)],
    ["undefined, written as null", result(undefined)],
    ["true", result(true)],
    ["false", result(false)],
    ["an integer", result(42)],
    ["a negative fraction", result(-0.125)],
    ["minus zero", result(-0)],
    ["a large number with an exponent", result(1e21)],
    ["a small number with an exponent", result(5e-324)],
    ["NaN, written as null", result(Number.NaN)],
    ["Infinity, written as null", result(Number.POSITIVE_INFINITY)],
    ["no result", { type: MessageType.Completion, invocationId: "7", hasResult: false }],
    ["an error", error("An unexpected error occurred invoking 'Echo' on the server.")],
    ["a long id", result("x", printable(255))],
  ];
  it.each(plain)("writes %s byte for byte as the text writer does", (_name, message) => {
    const bytes = writePlainCompletionUtf8(message);
    expect(bytes).toBeDefined();
    expect(Buffer.from(bytes!).toString("utf8")).toBe(json.writeMessage(message));
    expect(writeJsonMessageUtf8(message)).toEqual(bytes);
  });

  const other: Array<[string, CompletionMessage]> = [
    ["a string with a quote", result('say "hi"')],
    ["a string with a backslash", result("a\\b")],
    ["a string with a control character", result("line\nbreak")],
    ["a string with DEL", result("\u007f")],
    ["a string with a two-byte character", result("héllo")],
    ["a string with a three-byte character", result("€")],
    ["a string with a surrogate pair", result("😀")],
    ["a string of 256 characters", result(printable(256))],
    ["an object", result({ a: 1 })],
    ["an array", result([1, "two"])],
    ["a Date", result(new Date(0))],
    ["bytes", result(Uint8Array.of(1, 2))],
    ["a function", result(() => 1)],
    ["an error with a multi-byte character", error("échec")],
    ["an error with a quote", error('no "such" method')],
    ["an id with a quote", result("x", 'a"b')],
    ["an id with a multi-byte character", result("x", "é")],
    ["an id of 256 characters", result("x", printable(256))],
    ["headers", { ...result("x"), headers: { a: "b" } }],
  ];
  it.each(other)("leaves %s to the text writer", (_name, message) => {
    expect(writePlainCompletionUtf8(message)).toBeUndefined();
    expect(writeJsonMessageUtf8(message)).toBeUndefined();
  });

  it("writes no other message type", () => {
    expect(writeJsonMessageUtf8({ type: MessageType.Ping })).toBeUndefined();
    expect(writeJsonMessageUtf8({ type: MessageType.StreamItem, invocationId: "1", item: "x" })).toBeUndefined();
  });

  it("writes records that parse back to the same Completion", () => {
    for (const [, message] of plain) {
      const text = Buffer.from(writePlainCompletionUtf8(message)!).toString("utf8");
      const [parsed] = json.parseMessages(text, { utf8: utf8(text) });
      const expected = json.parseMessages(json.writeMessage(message));
      expect(parsed).toEqual(expected[0]);
    }
  });
});
