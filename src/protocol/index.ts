export * from "./messages.js";
export type { HubProtocol, ParseOptions, TransferFormat } from "./hub-protocol.js";
export { ProtocolError, type ProtocolErrorCode } from "./protocol-error.js";
export { SerializedHubMessage } from "./serialized-message.js";
export { JsonHubProtocol, jsonHubProtocol } from "./json-protocol.js";
export {
  parseHandshakeRequest,
  parseHandshakeResponse,
  writeHandshakeRequest,
  writeHandshakeResponse,
  type HandshakeRequest,
  type HandshakeResponse,
} from "./handshake.js";
export { RECORD_SEPARATOR } from "./text-framing.js";
export { MessagePackHubProtocol, messagePackHubProtocol } from "./messagepack-protocol.js";
