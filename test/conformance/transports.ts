import { request, type ClientRequest } from "node:http";
import WebSocket from "ws";
import { Channel } from "./channel.js";
import type { Protocol } from "./framing.js";
import { bodyLine, headerLines, send as sendHttp } from "./http.js";

// The three transports, spoken with plain `ws` and `node:http`: what a client library would do,
// written out so that every status, header and frame lands in the transcript.

export type TransportName = "ws" | "sse" | "lp";

export interface OpenOptions {
  base: string;
  /** Path and query of the connection request (with `id=` when negotiated). */
  path: string;
  protocol: Protocol | "raw";
  headers?: Record<string, string>;
  /** False for /echo, which has no handshake. */
  handshake: boolean;
}

export function openChannel(transport: TransportName, options: OpenOptions): Channel {
  if (transport === "ws") return new WebSocketChannel(options);
  if (transport === "sse") return new SseChannel(options);
  return new LongPollingChannel(options);
}

class WebSocketChannel extends Channel {
  readonly opened: Promise<string[]>;
  private readonly socket: WebSocket;

  constructor(options: OpenOptions) {
    super(options.protocol, options.handshake);
    this.socket = new WebSocket(options.base.replace(/^http/, "ws") + options.path, { headers: options.headers, perMessageDeflate: false });
    this.opened = new Promise((resolve) => {
      this.socket.once("upgrade", (res) => resolve([`  ${res.statusCode} upgraded`, ...headerLines(res.headers)]));
      this.socket.once("unexpected-response", (_req, res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          resolve([`  ${res.statusCode} not upgraded`, ...headerLines(res.headers), bodyLine(Buffer.concat(chunks))]);
          this.end("closed: upgrade refused");
        });
      });
      this.socket.once("error", (error) => {
        resolve([`  error ${error.message}`]);
        this.end("closed: error");
      });
    });
    this.socket.on("message", (data: Buffer) => this.received(data));
    this.socket.on("close", (code, reason) => this.end(`closed: websocket ${code} ${JSON.stringify(reason.toString())}`));
  }

  async send(data: string | Uint8Array, fragmentSize?: number): Promise<string[]> {
    await this.opened;
    // Text frames for text (JSON and every handshake), binary frames for bytes (MessagePack).
    const binary = typeof data !== "string";
    if (!fragmentSize) this.socket.send(data, { binary });
    else {
      const bytes = Buffer.from(data);
      for (let at = 0; at < bytes.length; at += fragmentSize) {
        this.socket.send(bytes.subarray(at, at + fragmentSize), { binary, fin: at + fragmentSize >= bytes.length });
      }
    }
    return [];
  }

  async close(): Promise<void> {
    this.socket.close(1000);
  }

  override drop(): void {
    this.ended = true; // what follows on this socket is no part of the exchange
    this.socket.terminate();
  }
}

/** POSTs a send to an HTTP transport's connection and gives its status when it is not a plain 200. */
async function post(options: OpenOptions, data: string | Uint8Array): Promise<string[]> {
  // A connection each: a server may drop one it answered on when it ends the hub connection,
  // and a reused one would then fail by timing.
  const res = await sendHttp(options.base, { method: "POST", path: options.path, headers: options.headers, body: data });
  if (res.status === 200 && res.body.length === 0) return [];
  return [`  send answered ${res.status}`, ...headerLines(res.headers), bodyLine(res.body)];
}

class SseChannel extends Channel {
  readonly opened: Promise<string[]>;
  private readonly req: ClientRequest;

  constructor(private readonly options: OpenOptions) {
    super(options.protocol, options.handshake);
    const url = new URL(options.path, options.base);
    this.req = request(url, { headers: { Accept: "text/event-stream", ...options.headers }, agent: false });
    this.opened = new Promise((resolve) => {
      this.req.on("response", (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            resolve([`  ${res.statusCode}`, ...headerLines(res.headers), bodyLine(Buffer.concat(chunks))]);
            this.end("closed: refused");
          });
          return;
        }
        resolve([`  ${res.statusCode} event stream`, ...headerLines(res.headers)]);
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
          // One event per blank line; its data lines joined by \n, as EventSource does.
          for (let end = text.indexOf("\r\n\r\n"); end >= 0; end = text.indexOf("\r\n\r\n")) {
            const event = text.slice(0, end);
            text = text.slice(end + 4);
            const data = event
              .split("\r\n")
              .filter((line) => line.startsWith("data:"))
              .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5));
            if (data.length) this.received(Buffer.from(data.join("\n")));
          }
        });
        res.on("end", () => this.end(`closed: event stream ended${text ? ` with ${JSON.stringify(text)} unparsed` : ""}`));
        res.on("error", () => this.end("closed: event stream reset"));
      });
      this.req.on("error", (error) => {
        resolve([`  error ${error.message}`]);
        this.end("closed: error");
      });
    });
    this.req.end();
  }

  async send(data: string | Uint8Array): Promise<string[]> {
    await this.opened;
    return post(this.options, data);
  }

  async close(): Promise<void> {
    this.req.destroy();
  }
}

class LongPollingChannel extends Channel {
  readonly opened: Promise<string[]>;
  private stopped = false;

  constructor(private readonly options: OpenOptions) {
    super(options.protocol, options.handshake);
    let first: (lines: string[]) => void;
    this.opened = new Promise((resolve) => (first = resolve));
    void this.poll(first!);
  }

  /** Polls until the server ends the connection: the first poll's answer is the opening line. */
  private async poll(first: (lines: string[]) => void): Promise<void> {
    let opening = true;
    while (!this.stopped) {
      let res;
      try {
        res = await sendHttp(this.options.base, { method: "GET", path: this.options.path, headers: this.options.headers });
      } catch (error) {
        if (opening) first([`  error ${(error as Error).message}`]);
        this.end("closed: poll failed");
        return;
      }
      if (opening) {
        opening = false;
        first([`  ${res.status} first poll`, ...headerLines(res.headers), ...(res.status === 200 && !res.body.length ? [] : [bodyLine(res.body)])]);
        if (res.status !== 200) {
          this.end("closed: refused");
          return;
        }
      } else if (this.stopped) {
        // After the client's DELETE the last poll gets 204, or 404 when it came after: timing.
        this.end("closed: polling stopped");
        return;
      } else if (res.status !== 200) {
        this.end(`closed: poll answered ${res.status}${res.body.length ? ` ${bodyLine(res.body).trim()}` : ""}`);
        return;
      }
      if (res.body.length) this.received(res.body);
    }
  }

  async send(data: string | Uint8Array): Promise<string[]> {
    await this.opened;
    return post(this.options, data);
  }

  async close(): Promise<void> {
    this.stopped = true;
    await sendHttp(this.options.base, { method: "DELETE", path: this.options.path, headers: this.options.headers }).catch(() => undefined);
  }
}
