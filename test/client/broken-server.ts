import { NullLogger, type HubMessage } from "@microsoft/signalr";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import type { WireFormat } from "../robustness/wire-formats.js";

// Servers that speak just enough SignalR for a client's tests to hand it frames of their own,
// broken ones included, over WebSockets, long polling or Server-Sent Events. `rawServer`
// negotiates (offering stateful reconnect) and carries each connection's messages both ways;
// `brokenServer` also answers the handshake and gives each hub message the client sends to
// `answer`, which returns the frames to send back, in order.

const RS = "\u001e";

/** The frames to send back for a message from the client (none for most). */
export type Answer = (message: HubMessage) => Array<string | Uint8Array>;

/** One hub connection, whatever its transport: the handshake answered, each message given to `answer`. */
class Peer {
  private handshaken = false;

  constructor(
    private readonly format: WireFormat,
    private readonly answer: Answer,
    private readonly send: (frame: string | Uint8Array) => void,
  ) {}

  receive(data: string | Uint8Array): void {
    if (!this.handshaken) {
      this.handshaken = true;
      return this.send(`{}${RS}`);
    }
    const input = typeof data === "string" ? data : data.slice().buffer;
    for (const message of this.format.protocol.parseMessages(input as string & ArrayBuffer, NullLogger.instance)) {
      for (const frame of this.answer(message)) this.send(frame);
    }
  }
}

/** A long-polling connection's frames waiting for a poll, and the poll waiting for frames. */
class Polling {
  polled = false;
  ended = false;
  private queued: Array<string | Uint8Array> = [];
  private poll: ServerResponse | undefined;

  push(frame: string | Uint8Array): void {
    this.queued.push(frame);
    this.flush();
  }

  take(res: ServerResponse): void {
    this.poll?.writeHead(204).end(); // a newer poll replaces the one held
    this.poll = res;
    this.flush();
  }

  end(): void {
    this.ended = true;
    this.poll?.writeHead(204).end();
    this.poll = undefined;
  }

  private flush(): void {
    if (!this.poll || this.queued.length === 0) return;
    const body = Buffer.concat(this.queued.splice(0).map((frame) => Buffer.from(frame)));
    this.poll.writeHead(200).end(body);
    this.poll = undefined;
  }
}

/**
 * For each connection the client opens: given how to send it a frame, what to do with each
 * message it sends (text, or bytes: a binary WebSocket message or an octet-stream POST).
 */
export type Connect = (send: (frame: string | Uint8Array) => void) => (data: string | Uint8Array) => void;

/** A server the test holds: where it listens, the transports clients have opened, and its end (every connection dropped). */
export interface RawServer {
  url: string;
  used: Set<string>;
  close(): void;
}

/** A server of `connect`'s connections on every transport. */
export async function rawServer(connect: Connect, path = "/hub"): Promise<RawServer> {
  const used = new Set<string>();
  const receivers = new Map<string, (data: string | Uint8Array) => void>();
  const polls = new Map<string, Polling>();
  let connections = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url!, "http://localhost");
    if (url.pathname.endsWith("/negotiate")) return negotiate(res, `c${++connections}`);
    const token = url.searchParams.get("id") ?? "";
    if (req.method === "POST") return void posted(req, res, receivers.get(token));
    if (req.method === "DELETE") {
      polls.get(token)?.end();
      return void res.writeHead(202).end();
    }
    if (req.headers.accept === "text/event-stream") {
      used.add("ServerSentEvents");
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" }).write(":\r\n");
      // Each frame one event, every line of it a `data:` line.
      receivers.set(token, connect((frame) => res.write(`${String(frame).split(/\r\n|\r|\n/).map((line) => `data: ${line}\r\n`).join("")}\r\n`)));
      return;
    }
    let polling = polls.get(token);
    if (!polling) {
      used.add("LongPolling");
      polls.set(token, (polling = new Polling()));
      receivers.set(token, connect((frame) => polling!.push(frame)));
    }
    if (polling.ended) return void res.writeHead(204).end();
    // The first poll comes back at once: the connection is open.
    if (!polling.polled) {
      polling.polled = true;
      return void res.writeHead(200).end();
    }
    polling.take(res);
  });
  const sockets = new WebSocketServer({ server });
  sockets.on("connection", (socket: WebSocket) => {
    used.add("WebSockets");
    const receive = connect((frame) => socket.send(frame));
    socket.on("message", (data: Buffer, isBinary) => receive(isBinary ? new Uint8Array(data) : data.toString()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const close = () => {
    server.closeAllConnections();
    server.close();
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, used, close };
}

/** A server of hub connections that answers each handshake and gives every hub message to `answer`. */
export function brokenServer(format: WireFormat, answer: Answer): Promise<RawServer> {
  return rawServer((send) => {
    const peer = new Peer(format, answer, send);
    return (data) => peer.receive(data);
  });
}

function negotiate(res: ServerResponse, token: string): void {
  const transports = [
    { transport: "WebSockets", transferFormats: ["Text", "Binary"] },
    { transport: "ServerSentEvents", transferFormats: ["Text"] },
    { transport: "LongPolling", transferFormats: ["Text", "Binary"] },
  ];
  const negotiated = { negotiateVersion: 1, connectionId: token, connectionToken: token, useStatefulReconnect: true, availableTransports: transports };
  res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(negotiated));
}

/** A send of an SSE or long-polling connection: read as its Content-Type says, then answered 200. */
async function posted(req: IncomingMessage, res: ServerResponse, receive: ((data: string | Uint8Array) => void) | undefined): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (!receive) return void res.writeHead(404).end();
  const body = Buffer.concat(chunks);
  res.writeHead(200).end();
  receive((req.headers["content-type"] ?? "").includes("octet-stream") ? new Uint8Array(body) : body.toString());
}
