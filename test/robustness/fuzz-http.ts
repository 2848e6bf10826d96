import { MessageType } from "@microsoft/signalr";
import { Agent, request } from "node:http";
import { negotiate, send } from "../http-transports/http-client.js";
import { within } from "../support/wait.js";
import { FuzzClient } from "./fuzz-client.js";
import type { WireFormat } from "./wire-formats.js";

export type HttpTransport = "LongPolling" | "ServerSentEvents";

/**
 * A connection over long polling or Server-Sent Events that speaks a hub protocol, frames given by
 * hand, each POSTed alone and in order (see FuzzClient). It has sockets of its own, so dropping it
 * drops its requests.
 */
export class FuzzHttp extends FuzzClient {
  /** How the connection ended, once it has. */
  private endedWith: string | undefined;
  private readonly agent = new Agent({ keepAlive: true });
  private dropped = false;

  private constructor(
    private readonly connectionUrl: string,
    format: WireFormat,
    private readonly transport: HttpTransport,
  ) {
    super(format);
  }

  /** Negotiates a connection to the hub at `url`, opens its transport and makes the handshake. */
  static async open(url: string, format: WireFormat, transport: HttpTransport): Promise<FuzzHttp> {
    const token = await within(negotiate(url), `negotiate at ${url}`);
    const client = new FuzzHttp(`${url}?id=${encodeURIComponent(token)}`, format, transport);
    await within(transport === "LongPolling" ? client.poll() : client.listen(), `the ${transport} transport to open`);
    await client.handshake(1);
    return client;
  }

  get closed(): boolean {
    return this.endedWith !== undefined;
  }

  private get binary(): boolean {
    return this.format.protocol.name === "messagepack";
  }

  private poll(): Promise<void> {
    return pollUntilEnded(this.connectionUrl, this.agent, {
      body: (body) => this.receive(this.binary ? new Uint8Array(body) : body.toString()),
      ended: (how) => this.finish(how),
      dropped: () => this.dropped,
    });
  }

  /** Opens the event stream; resolves once it has answered. */
  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(this.connectionUrl, { headers: { Accept: "text/event-stream" }, agent: this.agent }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`the event stream answered ${res.statusCode}`));
        let pending = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          pending += chunk;
          for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
            const lines = pending.slice(0, end).split("\r\n");
            pending = pending.slice(end + 4);
            const data = lines.filter((line) => line.startsWith("data: ")).map((line) => line.slice(6));
            if (data.length > 0) this.receive(data.join("\n"));
          }
        });
        res.on("close", () => this.finish("the event stream ended"));
        resolve();
      });
      req.on("error", (error) => (this.dropped ? undefined : this.finish(`the event stream failed: ${error.message}`)));
      req.end();
    });
  }

  private finish(how: string): void {
    if (this.endedWith !== undefined) return;
    this.endedWith = how;
    this.ended();
  }

  /** POSTs `frame` alone; a connection that has ended answers 404, which is left to the poll or the stream to tell. */
  async send(frame: string | Uint8Array): Promise<void> {
    const type = this.binary ? "application/octet-stream" : "text/plain;charset=UTF-8";
    const reply = await send(this.connectionUrl, "POST", { body: frame, headers: { "Content-Type": type }, agent: this.agent }).catch((error: Error) => error);
    if (reply instanceof Error) {
      if (!this.dropped) throw new Error(`a POST failed: ${reply.message}`);
    } else if (reply.status !== 200 && reply.status !== 404) {
      throw new Error(`a POST answered ${reply.status} ${reply.text}`);
    }
  }

  protected endedHow(): string {
    return this.endedWith ?? "not ended";
  }

  /** As the official client ends: its Close message, then a long-polling connection's DELETE, or the event stream dropped. */
  async end(): Promise<void> {
    await this.send(this.format.frame({ type: MessageType.Close }));
    if (this.transport === "LongPolling") await send(this.connectionUrl, "DELETE", { agent: this.agent });
    this.terminate();
  }

  terminate(): void {
    this.dropped = true;
    this.agent.destroy();
  }
}

/**
 * Polls a long-polling connection at `url` until the server ends it (any answer but 200) or the
 * client drops it, handing on each body that holds something; resolves once the first poll is
 * answered (it comes back at once: the connection is open).
 */
export function pollUntilEnded(url: string, agent: Agent, on: { body(body: Buffer): void; ended(how: string): void; dropped(): boolean }): Promise<void> {
  return new Promise((opened) => {
    void (async () => {
      for (;;) {
        const reply = await send(url, "GET", { agent }).catch((error: Error) => error);
        opened();
        if (on.dropped()) return;
        if (reply instanceof Error) return on.ended(`a poll failed: ${reply.message}`);
        if (reply.status !== 200) return on.ended(`a poll answered ${reply.status}`);
        if (reply.body.length > 0) on.body(reply.body);
      }
    })();
  });
}
