import { Agent, request, type IncomingMessage } from "node:http";
import { waitFor } from "../support/wait.js";

export const RS = "\u001e";

export interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: Buffer;
  text: string;
}

/** One plain HTTP request; the body is sent as given. */
export function send(
  url: string,
  method: string,
  options: { headers?: Record<string, string>; body?: string | Uint8Array; agent?: Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: options.headers ?? {}, ...(options.agent ? { agent: options.agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString() });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

export async function negotiate(hubUrl: string, agent?: Agent): Promise<string> {
  const reply = await send(`${hubUrl}/negotiate?negotiateVersion=1`, "POST", agent ? { agent } : {});
  if (reply.status !== 200) throw new Error(`negotiate answered ${reply.status}`);
  return (JSON.parse(reply.text) as { connectionToken: string }).connectionToken;
}

export function postText(url: string, body: string, agent?: Agent): Promise<Reply> {
  return send(url, "POST", { body, headers: { "Content-Type": "text/plain;charset=UTF-8" }, ...(agent ? { agent } : {}) });
}

/** An open Server-Sent Events response: its status, headers and the text received so far. */
export class EventStream {
  text = "";
  status = 0;
  headers: IncomingMessage["headers"] = {};
  readonly ended: Promise<void>;
  private response: IncomingMessage | undefined;
  private readonly req;

  private constructor(url: string, agent?: Agent) {
    let opened!: () => void;
    this.opened = new Promise((resolve) => (opened = resolve));
    let ended!: () => void;
    this.ended = new Promise((resolve) => (ended = resolve));
    this.req = request(url, { headers: { Accept: "text/event-stream" }, ...(agent ? { agent } : {}) }, (res) => {
      this.response = res;
      this.status = res.statusCode!;
      this.headers = res.headers;
      res.on("data", (chunk: Buffer) => (this.text += chunk.toString()));
      res.on("end", ended);
      res.on("close", ended);
      res.on("error", () => ended());
      opened();
    });
    this.req.on("error", () => {
      opened();
      ended();
    });
    this.req.end();
  }

  readonly opened: Promise<void>;

  static async open(url: string, agent?: Agent): Promise<EventStream> {
    const stream = new EventStream(url, agent);
    await stream.opened;
    return stream;
  }

  /** The `data:` payloads of the complete events so far. */
  events(): string[] {
    return this.text
      .split("\r\n\r\n")
      .slice(0, -1)
      .map((event) =>
        event
          .split("\r\n")
          .filter((line) => line.startsWith("data: "))
          .map((line) => line.slice(6))
          .join("\n"),
      )
      .filter((data) => data.length > 0);
  }

  waitFor(condition: () => boolean, what: string, ms?: number): Promise<void> {
    return waitFor(condition, () => `${what}; got ${JSON.stringify(this.text)}`, ms);
  }

  pause(): void {
    this.response?.pause();
  }

  /** Drops the connection, as a browser tab that goes away. */
  abort(): void {
    this.req.destroy();
  }
}
