import { Agent, request, type IncomingMessage } from "node:http";
import { keepAlive, type LeanClient } from "./lean-client.js";

const RS = "\u001e";
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

/**
 * hubwire over Server-Sent Events or long polling, by hand: negotiate, the event stream or the
 * poll loop, the handshake and calls by POST. Used where the issue asks for these transports:
 * connection counts and broadcasts.
 */
export class HubwireHttpClient implements LeanClient {
  private url = "";
  private tickListener: ((sentAt: number) => void) | undefined;
  private stream: IncomingMessage | undefined;
  private closed = false;
  private handshakeDone: (() => void) | undefined;
  private buffer = "";
  private pinger: ReturnType<typeof setInterval> | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, () => void>();

  constructor(
    private readonly port: number,
    private readonly transport: "sse" | "lp",
  ) {}

  async connect(): Promise<void> {
    const negotiated = JSON.parse(await this.http("POST", `/bench/negotiate?negotiateVersion=1`)) as { connectionToken: string };
    this.url = `/bench?id=${negotiated.connectionToken}`;
    const handshake = new Promise<void>((resolve) => (this.handshakeDone = resolve));
    if (this.transport === "sse") await this.openStream();
    else {
      await this.http("GET", this.url); // the first poll starts the connection
      void this.pollLoop();
    }
    await this.http("POST", this.url, `{"protocol":"json","version":1}${RS}`);
    await handshake;
    // A client that only listens must still say it is there, as the official clients do.
    this.pinger = keepAlive(() => void this.http("POST", this.url, `{"type":6}${RS}`).catch(() => {}));
  }

  private openStream(): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: this.port, path: this.url, headers: { Accept: "text/event-stream" }, agent }, (res) => {
        this.stream = res;
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => this.onEventText(chunk));
        res.on("error", () => {});
        resolve();
      });
      req.on("error", reject);
      req.end();
    });
  }

  private onEventText(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf("\r\n\r\n")) >= 0) {
      const event = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 4);
      for (const line of event.split("\r\n")) if (line.startsWith("data: ")) this.onRecords(line.slice(6));
    }
  }

  private async pollLoop(): Promise<void> {
    while (!this.closed) {
      try {
        const body = await this.http("GET", this.url);
        if (body) this.onRecords(body);
      } catch {
        return;
      }
    }
  }

  private onRecords(text: string): void {
    for (const record of text.split(RS)) {
      if (!record) continue;
      const message = JSON.parse(record) as { type?: number; invocationId?: string; target?: string; arguments?: unknown[] };
      if (message.type === undefined) this.handshakeDone?.();
      else if (message.type === 3) this.complete(Number(message.invocationId));
      else if (message.type === 1 && message.target === "tick") this.tickListener?.(message.arguments![0] as number);
    }
  }

  /** An echo call by POST; its Completion comes back on the event stream or a poll. */
  call(payload: string, done: () => void): void {
    const id = this.nextId++;
    this.pending.set(id, done);
    void this.http("POST", this.url, `{"type":1,"invocationId":"${id}","target":"Echo","arguments":[${JSON.stringify(payload)}]}${RS}`).catch(() => {});
  }

  private complete(id: number): void {
    const done = this.pending.get(id);
    this.pending.delete(id);
    done?.();
  }

  onTick(listener: (sentAt: number) => void): void {
    this.tickListener = listener;
  }

  async join(): Promise<void> {
    throw new Error("groups run over WebSockets only in this bench");
  }

  close(): void {
    clearInterval(this.pinger);
    this.closed = true;
    this.stream?.destroy();
    if (this.transport === "lp" && this.url) void this.http("DELETE", this.url).catch(() => {});
  }

  /**
   * One request, sent again once if its keep-alive socket was reset before any answer came: the
   * server (or a proxy) closed it as it was being reused, so the request never reached anyone.
   */
  private http(method: string, path: string, body?: string, again = true): Promise<string> {
    return new Promise((resolve, reject) => {
      let answered = false;
      const req = request({ host: "127.0.0.1", port: this.port, method, path, agent, headers: body ? { "Content-Type": "text/plain;charset=UTF-8" } : {} }, (res) => {
        answered = true;
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => (res.statusCode! < 300 ? resolve(text) : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on("error", (error: NodeJS.ErrnoException) => {
        if (again && !answered && req.reusedSocket && error.code === "ECONNRESET") resolve(this.http(method, path, body, false));
        else reject(error);
      });
      req.end(body);
    });
  }
}
