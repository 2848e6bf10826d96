import { isUtf8 } from "node:buffer";
import type { LogWriter } from "../logger.js";
import type { Admitted, ConnectionAdmission } from "./connection-admission.js";
import type { ConnectionRequest } from "./connection-request.js";
import { replyText, type HttpReply } from "./http-replies.js";
import { readBodyInPieces } from "./body-pieces.js";
import { readBody, type BodyResult, type BodySource } from "./request-body.js";
import { SendGate } from "./send-gate.js";
import type { TransportConnection } from "./transport-connection.js";
import { transportLog } from "./transport-log.js";

/** What taking a client's POST needs of its endpoint. */
export interface SendContext {
  readonly path: string;
  readonly admission: ConnectionAdmission;
  /** Largest POST body read; past it the connection ends (see TransportConnection.receiveTooLarge). */
  readonly maxIncomingPayload: number;
  readonly log: LogWriter;
}

/**
 * POSTs of one connection that may wait, bodies unread, behind the one being read. Official
 * clients send one at a time; a few more leave room for clients that do not wait for the answer.
 */
const maxWaitingSends = 8;

/**
 * A POST (client-to-server data of an SSE or long-polling connection) of a connection this
 * server holds, received here or forwarded by another server; `readPayload` reads its body once
 * it is its turn.
 */
export async function receiveSend(
  context: SendContext,
  res: HttpReply,
  request: ConnectionRequest,
  connection: TransportConnection,
  payload: SendPayload,
): Promise<void> {
  if (connection.transportName === "WebSockets") {
    return replyText(res, 405, "POST requests are not allowed for WebSocket connections.");
  }
  if (!connection.transport || connection.state === "closed") return replyText(res, 404, "No Connection with that ID");
  // Authenticated before its body is read: a send that is not its connection's user costs nothing.
  const admission = await context.admission.readmit(connection, request, false);
  if ("status" in admission) return context.admission.refuse(request, res, admission, { Connection: "close" }, connection);
  const gate = (connection.sendGate ??= new SendGate(maxWaitingSends));
  if (!(await gate.enter())) {
    context.log.write(transportLog.tooManySends, { path: context.path, connectionId: connection.connectionId });
    return replyText(res, 409, "Too many sends are waiting for this connection.", { Connection: "close" });
  }
  try {
    await receiveInTurn(context, res, request, connection, admission, payload);
  } finally {
    gate.leave();
  }
}

/**
 * A send's body: what it is still to be read from (a POST to this server, or one another server
 * forwards in parts), or read whole already (one another server read, bounded, and forwarded).
 */
export type SendPayload = { request: BodySource } | { read: BodyResult };

/** A POST whose turn it is: its body is read only once the connection takes data again. */
async function receiveInTurn(
  context: SendContext,
  res: HttpReply,
  request: ConnectionRequest,
  connection: TransportConnection,
  admission: Admitted,
  payload: SendPayload,
): Promise<void> {
  // Backpressure: while a consumer is full the body stays unread, and the client waits.
  await connection.whenReceiving();
  if (connection.isClosed) return replyText(res, 404, "No Connection with that ID");
  context.admission.adopt(connection, admission);
  // JSON is posted as text/plain, MessagePack as application/octet-stream (the .NET client names
  // neither). A body is text only if it is UTF-8, as a WebSocket's text frame must be (one that
  // is not closes with 1007): other bytes arrive as bytes, which a text protocol refuses.
  const binary = (request.header("content-type") ?? "").includes("octet-stream");
  let received = false;
  const receive = (body: Buffer) => {
    received = true;
    if (binary || !isUtf8(body)) connection.receive(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    else connection.receive(body.toString("utf8"), body);
  };
  // Past its handshake, a hub connection's POST is read in pieces of whole hub messages as it
  // arrives (see readBodyInPieces); the handshake's, and any other, whole.
  const framing = connection.receiver?.recordFraming;
  const limit = context.maxIncomingPayload;
  const result =
    "read" in payload
      ? payload.read
      : framing
        ? await readBodyInPieces(payload.request, limit, framing, connection, receive)
        : await readBody(payload.request, limit);
  if ("aborted" in result) return;
  if ("tooLarge" in result) {
    // The connection ends as for a message over maximumReceiveMessageSize (a hub sends its
    // Close message on the SSE stream or the pending poll); the rest of the body is not read.
    connection.receiveTooLarge(limit);
    return replyText(res, 413, `A send carried more than ${limit} bytes.`, { Connection: "close" });
  }
  if ("done" in result) {
    // Read in pieces, each taken as it came. If the connection ended meanwhile, before any was
    // taken the send is refused; after, a piece ended it, and the send was taken. The rest of
    // the body may be left unread: its socket is closed.
    if (!connection.isClosed) return replyText(res, 200);
    return replyText(res, received ? 200 : 404, received ? "" : "No Connection with that ID", { Connection: "close" });
  }
  // Read whole: the connection may have ended while the body was arriving.
  if (connection.isClosed) return replyText(res, 404, "No Connection with that ID");
  receive(result.body);
  replyText(res, 200);
}
