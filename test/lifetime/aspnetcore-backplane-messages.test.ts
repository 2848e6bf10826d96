import { describe, expect, it } from "vitest";
import * as wire from "../../src/lifetime/aspnetcore-backplane-messages.js";
import type { HubMessage } from "../../src/protocol/messages.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import { messagePackHubProtocol } from "../../src/protocol/messagepack-protocol.js";

// Messages ASP.NET Core 10's Redis backplane (Microsoft.AspNetCore.SignalR.StackExchangeRedis
// 10.0.15) published, recorded from Redis while two reference servers (test/reference/aspnetcore)
// and official clients ran: hubwire must read them, and write the same bytes for the same message.
const recorded = {
  /** `:all`: Clients.All.SendAsync("Received", "all", "hello"), in json and messagepack. */
  all:
    "929082a46a736f6ec43b7b2274797065223a312c22746172676574223a225265636569766564222c22617267756d656e7473223a5b22616c6c222c2268656c6c6f225d7d1eab6d6573736167657061636bc41a19960180c0a8526563656976656492a3616c6ca568656c6c6f90",
  /** `:all`: Clients.AllExcept([id]).SendAsync("Received", "allExcept", "exc"). */
  allExcept:
    "9291b65f6b4e5946315136715468535470317932636662466782a46a736f6ec43f7b2274797065223a312c22746172676574223a225265636569766564222c22617267756d656e7473223a5b22616c6c457863657074222c22657863225d7d1eab6d6573736167657061636bc41e1d960180c0a8526563656976656492a9616c6c457863657074a365786390",
  /** `:internal:groups`: AddToGroupAsync(connection of another server, "g1"), command 1. */
  groupCommand:
    "9501d923766d5f366362613861666265653264343865386131333863366532323032623366333101a26731b64c4c43494b655745697555486645705066624b324f41",
  /** `:internal:ack:{server}`: the ack of command 1. */
  ack: "9101",
  /** `:connection:{id}`: Clients.Client(id).InvokeAsync<double>("Result"), a client result asked across servers. */
  clientResultRequest:
    "949082a46a736f6ec4547b2274797065223a312c22696e766f636174696f6e4964223a226b4c387a6b45426948452b5a7145764a6b4767483141222c22746172676574223a22526573756c74222c22617267756d656e7473223a5b5d7d1eab6d6573736167657061636bc42423960180b66b4c387a6b45426948452b5a7145764a6b4767483141a6526573756c749090b66b4c387a6b45426948452b5a7145764a6b4767483141d950487562776972652e5265666572656e63652e496e7465726f704875623a696e7465726e616c3a72657475726e3a766d5f3663626138616662656532643438653861313338633665323230326233663331",
  /** `:internal:return:{server}`: a JSON client's answer 7. */
  jsonCompletion:
    "92a46a736f6ec43e7b2274797065223a332c22696e766f636174696f6e4964223a226b4c387a6b45426948452b5a7145764a6b4767483141222c22726573756c74223a377d1e",
  /** `:internal:return:{server}`: a MessagePack client's answer 8. */
  messagePackCompletion: "92ab6d6573736167657061636bc41d1c950380b639343767575259512f3057777547365a636c66676d410308",
};
const bytes = (name: keyof typeof recorded) => new Uint8Array(Buffer.from(recorded[name], "hex"));
const hex = (data: Uint8Array) => Buffer.from(data).toString("hex");

const serverName = "vm_6cba8afbee2d48e8a138c6e2202b3f31";
const protocols = [jsonHubProtocol, messagePackHubProtocol];

/** A message framed as the lifetime manager frames it for the backplane. */
function framed(message: HubMessage): wire.FramedPayloads {
  const payloads: wire.FramedPayloads = {};
  for (const protocol of protocols) {
    const payload = protocol.writeMessage(message);
    payloads[protocol.name] = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  }
  return payloads;
}

function parsed(payloads: wire.FramedPayloads): HubMessage[] {
  return [jsonHubProtocol.parseMessages(new TextDecoder().decode(payloads.json)), messagePackHubProtocol.parseMessages(payloads.messagepack!)].flat();
}

describe("ASP.NET Core's Redis backplane messages, against ones ASP.NET Core wrote", () => {
  it("reads and writes a send to all, byte for byte", () => {
    const invocation = wire.readInvocation(bytes("all"));
    expect(invocation.excluded).toEqual([]);
    const message: HubMessage = { type: 1, target: "Received", arguments: ["all", "hello"] };
    expect(parsed(invocation.payloads)).toEqual([expect.objectContaining(message), expect.objectContaining(message)]);
    expect(hex(wire.writeInvocation({ excluded: [], payloads: framed(message) }))).toBe(recorded.all);
  });

  it("reads and writes a send with excluded connections, byte for byte", () => {
    const invocation = wire.readInvocation(bytes("allExcept"));
    expect(invocation.excluded).toEqual(["_kNYF1Q6qThSTp1y2cfbFg"]);
    const message: HubMessage = { type: 1, target: "Received", arguments: ["allExcept", "exc"] };
    expect(hex(wire.writeInvocation({ excluded: invocation.excluded, payloads: framed(message) }))).toBe(recorded.allExcept);
  });

  it("reads and writes a group command and its ack, byte for byte", () => {
    const command = wire.readGroupCommand(bytes("groupCommand"));
    expect(command).toEqual({ id: 1, serverName, action: "add", group: "g1", connectionId: "LLCIKeWEiuUHfEpPfbK2OA" });
    expect(hex(wire.writeGroupCommand(command))).toBe(recorded.groupCommand);
    expect(wire.readAck(bytes("ack"))).toBe(1);
    expect(hex(wire.writeAck(1))).toBe(recorded.ack);
    expect(wire.readGroupCommand(wire.writeGroupCommand({ ...command, action: "remove" })).action).toBe("remove");
  });

  it("reads and writes a client result request, whose return channel has no engine prefix, byte for byte", () => {
    const invocation = wire.readInvocation(bytes("clientResultRequest"));
    const invocationId = "kL8zkEBiHE+ZqEvJkGgH1A";
    const returnChannel = `Hubwire.Reference.InteropHub:internal:return:${serverName}`;
    expect(invocation).toMatchObject({ excluded: [], invocationId, returnChannel });
    const message: HubMessage = { type: 1, invocationId, target: "Result", arguments: [] };
    expect(hex(wire.writeInvocation({ excluded: [], payloads: framed(message), invocationId, returnChannel }))).toBe(recorded.clientResultRequest);
  });

  it("reads and writes client answers in either protocol, byte for byte", () => {
    const json = wire.readCompletion(bytes("jsonCompletion"));
    expect(json.protocol).toBe("json");
    const answer7 = { type: 3, invocationId: "kL8zkEBiHE+ZqEvJkGgH1A", hasResult: true, result: 7 } as const;
    expect(jsonHubProtocol.parseMessages(new TextDecoder().decode(json.completion))).toEqual([expect.objectContaining(answer7)]);
    const jsonBytes = new TextEncoder().encode(jsonHubProtocol.writeMessage(answer7));
    expect(hex(wire.writeCompletion({ protocol: "json", completion: jsonBytes }))).toBe(recorded.jsonCompletion);

    const messagePack = wire.readCompletion(bytes("messagePackCompletion"));
    const answer8 = { type: 3, invocationId: "947gWRYQ/0WwuG6ZclfgmA", hasResult: true, result: 8 } as const;
    expect(messagePackHubProtocol.parseMessages(messagePack.completion)).toEqual([expect.objectContaining(answer8)]);
    const messagePackBytes = messagePackHubProtocol.writeMessage(answer8);
    expect(hex(wire.writeCompletion({ protocol: "messagepack", completion: messagePackBytes }))).toBe(recorded.messagePackCompletion);
  });

  it("ignores items past the ones it knows, as ASP.NET Core does, and refuses arrays too short", () => {
    const longer = new Uint8Array([0x93, ...bytes("ack").subarray(1), 0xc0, 0xc0]);
    expect(wire.readAck(longer)).toBe(1);
    expect(() => wire.readAck(new Uint8Array([0x90]))).toThrow("ack: insufficient items");
    expect(() => wire.readInvocation(bytes("ack"))).toThrow("invocation: insufficient items");
    expect(() => wire.readGroupCommand(new Uint8Array([0x95, 1, 0xa1, 0x73, 9, 0xa1, 0x67, 0xa1, 0x63]))).toThrow("unknown action 9");
  });
});
