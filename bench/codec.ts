import { jsonHubProtocol } from "../src/protocol/json-protocol.js";
import type { HubProtocol } from "../src/protocol/hub-protocol.js";
import { messagePackHubProtocol } from "../src/protocol/messagepack-protocol.js";
import type { HubMessage } from "../src/protocol/messages.js";

export interface CodecRow {
  message: string;
  protocol: string;
  bytes: number;
  encodeNs: number;
  decodeNs: number;
}

const samples: Array<[string, HubMessage]> = [
  ["small invocation", { type: 1, invocationId: "42", target: "Echo", arguments: ["hello"] }],
  [
    "object invocation",
    {
      type: 1,
      target: "notify",
      arguments: [{ id: 1234, kind: "topic", topic: "deployments", title: "Release 4.2 is out", body: "x".repeat(120), at: "2026-11-23T10:00:00Z", tags: ["a", "b", "c"] }],
    },
  ],
  ["completion", { type: 3, invocationId: "42", hasResult: true, result: { ok: true, values: [1, 2, 3, 4, 5, 6, 7, 8] } }],
];

/**
 * Encode and decode cost per message, and its size, for JSON and MessagePack (in this process).
 * Decoding starts from the bytes a transport receives, as the server's does: JSON text is decoded
 * and handed over with its bytes.
 */
export function runCodec(iterations: number): CodecRow[] {
  const rows: CodecRow[] = [];
  for (const [name, message] of samples) {
    for (const protocol of [jsonHubProtocol, messagePackHubProtocol] as HubProtocol[]) {
      const encoded = protocol.writeMessage(message);
      // What a WebSocket frame or a POST body holds.
      const wire = typeof encoded === "string" ? Buffer.from(encoded) : Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
      rows.push({
        message: name,
        protocol: protocol.name,
        bytes: wire.byteLength,
        encodeNs: time(iterations, () => protocol.writeMessage(message)),
        decodeNs: time(iterations, () => decode(protocol, wire)),
      });
    }
  }
  return rows;
}

function decode(protocol: HubProtocol, wire: Buffer): unknown {
  if (protocol.transferFormat === "Binary") return protocol.parseMessages(new Uint8Array(wire.buffer, wire.byteOffset, wire.byteLength));
  return protocol.parseMessages(wire.toString("utf8"), { utf8: wire });
}

function time(iterations: number, action: () => unknown): number {
  for (let i = 0; i < Math.min(iterations, 10_000); i++) action(); // warm up the JIT
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) action();
  return Number(process.hrtime.bigint() - started) / iterations;
}
