import type { HubConnection } from "../connection/hub-connection.js";
import type { LogFields } from "../logger.js";
import { parseHandshakeRequest, writeHandshakeResponse } from "../protocol/handshake.js";
import { byteLength, encodeUtf8 } from "../protocol/utf8.js";
import { dispatchLog } from "./dispatch-log.js";
import { detailFor, errorTexts } from "./error-texts.js";
import type { HubRuntime } from "./hub-runtime.js";

/** The connection a handshake answers for, and what its log lines carry. */
export interface HandshakeParty {
  readonly connection: HubConnection;
  readonly logFields: LogFields;
}

/**
 * Answers a connection's handshake request: picks its hub protocol (and stateful reconnect),
 * replies, and marks the handshake complete. Returns what arrived after the request (`remaining`,
 * the first messages, if any), or undefined when the handshake was refused (the connection then
 * closes).
 */
export function answerHandshake(runtime: HubRuntime, party: HandshakeParty, data: string | Uint8Array): { remaining?: string | Uint8Array } | undefined {
  const { connection } = party;
  const max = runtime.options.maximumReceiveMessageSize;
  if (max !== null && byteLength(data) > max) {
    return void refuseHandshake(runtime, party, errorTexts.handshakeCanceled, `larger than maximumReceiveMessageSize (${max} bytes)`);
  }
  let request: ReturnType<typeof parseHandshakeRequest>;
  try {
    request = parseHandshakeRequest(data);
  } catch (error) {
    return void refuseHandshake(runtime, party, errorTexts.handshakeFailed(detailFor(error, runtime.options.enableDetailedErrors)), error);
  }
  // Names match whatever their case, as in ASP.NET Core.
  const protocol = runtime.protocols.get(request.protocol.toLowerCase());
  if (!protocol) return void refuseHandshake(runtime, party, errorTexts.protocolNotSupported(request.protocol));
  if (!protocol.isVersionSupported(request.version)) {
    return void refuseHandshake(runtime, party, errorTexts.versionNotSupported(request.version, request.protocol));
  }
  if (protocol.transferFormat === "Binary" && connection.transportName === "ServerSentEvents") {
    return void refuseHandshake(runtime, party, errorTexts.transferFormatNotSupported(request.protocol, "Binary"));
  }
  // Checked here, not at negotiate: the connections counted are those that passed their handshake.
  if (!runtime.userConnections.admitsAnother(connection.userIdentifier)) {
    return void refuseHandshake(runtime, party, errorTexts.tooManyUserConnections, `more than maximumConnectionsPerUser (${runtime.userConnections.maximum})`);
  }
  connection.protocol = protocol;
  // Stateful reconnect needs both: the client asked at negotiate, and speaks version 2 here.
  const { transport } = connection;
  if (transport.statefulReconnect && request.version >= 2 && transport.transportName === "WebSockets") {
    connection.enableStatefulReconnect(runtime.options.statefulReconnectBufferSize);
  }
  if (runtime.log.debugEnabled) {
    runtime.log.write(dispatchLog.connectionOpened, {
      ...party.logFields,
      transport: connection.transportName,
      protocol: protocol.name,
      version: request.version,
      userIdentifier: connection.userIdentifier,
    });
  }
  const reply = writeHandshakeResponse();
  // A binary protocol's handshake reply goes out binary, as ASP.NET Core sends it.
  connection.send(protocol.transferFormat === "Binary" ? encodeUtf8(reply) : reply);
  connection.handshakeComplete = true;
  runtime.userConnections.added(connection.userIdentifier);
  return { remaining: request.remaining };
}

/** Refuses a handshake with `error` and closes the connection. `why`: what the log says when it knows more than the client is told. */
export function refuseHandshake(runtime: HubRuntime, party: HandshakeParty, error: string, why?: unknown): void {
  const fields: LogFields = { ...party.logFields, transport: party.connection.transportName, reason: error };
  if (why !== undefined) fields.error = why;
  runtime.log.write(dispatchLog.handshakeFailed, fields);
  party.connection.send(writeHandshakeResponse(error));
  party.connection.close();
}
