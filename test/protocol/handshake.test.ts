import { describe, expect, it } from "vitest";
import { parseHandshakeRequest, writeHandshakeResponse } from "../../src/protocol/handshake.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";

const RS = "\u001e";

describe("handshake", () => {
  it("writes exactly {} + RS on success and an error object on failure", () => {
    expect(writeHandshakeResponse()).toBe(`{}${RS}`);
    expect(writeHandshakeResponse("The protocol 'x' is not supported.")).toBe(
      `{"error":"The protocol 'x' is not supported."}${RS}`,
    );
  });

  it("reads a request in any key order, from text or bytes", () => {
    expect(parseHandshakeRequest(`{"version":1,"protocol":"json"}${RS}`)).toEqual({ protocol: "json", version: 1 });
    expect(parseHandshakeRequest(new TextEncoder().encode(`{"protocol":"messagepack","version":2}${RS}`))).toEqual({
      protocol: "messagepack",
      version: 2,
    });
  });

  it("hands back what followed the handshake in the same payload", () => {
    const text = parseHandshakeRequest(`{"protocol":"json","version":1}${RS}{"type":6}${RS}`);
    expect(text.remaining).toBe(`{"type":6}${RS}`);
    const bytes = parseHandshakeRequest(new Uint8Array([...new TextEncoder().encode(`{"protocol":"messagepack","version":1}${RS}`), 2, 0x91, 6]));
    expect(bytes.remaining).toEqual(new Uint8Array([2, 0x91, 6]));
  });

  it.each([
    ["no separator", `{"protocol":"json","version":1}`, "The handshake message is incomplete."],
    ["invalid JSON", `{protocol${RS}`, /^The handshake is not valid JSON: /],
    ["an array", `[]${RS}`, "The handshake must be a JSON object."],
    ["no protocol", `{"version":1}${RS}`, "Missing or invalid 'protocol' property in the handshake."],
    ["a string version", `{"protocol":"json","version":"1"}${RS}`, "Missing or invalid 'version' property in the handshake."],
    ["a version beyond 32 bits", `{"protocol":"json","version":4294967296}${RS}`, "Missing or invalid 'version' property in the handshake."],
  ])("rejects %s", (_name, input, text) => {
    let error: unknown;
    try {
      parseHandshakeRequest(input);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe("ERR_HANDSHAKE_INVALID");
    if (typeof text === "string") expect((error as Error).message).toBe(text);
    else expect((error as Error).message).toMatch(text);
  });
});
