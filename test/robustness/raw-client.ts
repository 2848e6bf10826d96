import type { Socket } from "node:net";
import WebSocket from "ws";
import { waitFor } from "../support/wait.js";

export const RS = "\u001e";

/** A WebSocket that speaks the JSON hub protocol by hand, recording every frame it receives. */
export class RawJsonClient {
  readonly frames: string[] = [];
  readonly binaryFrames: Buffer[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data: Buffer, isBinary) => {
      if (isBinary) this.binaryFrames.push(data);
      else this.frames.push(data.toString());
    });
    this.closed = new Promise((resolve) =>
      socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** Opens a socket to `url` (http form); `handshake` false leaves the handshake to the test. */
  static async open(url: string, options: { handshake?: boolean; headers?: Record<string, string> } = {}): Promise<RawJsonClient> {
    const socket = new WebSocket(url.replace(/^http/, "ws"), { headers: options.headers ?? {} });
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const client = new RawJsonClient(socket);
    if (options.handshake !== false) {
      socket.send(`{"protocol":"json","version":1}${RS}`);
      await client.waitFor((frames) => frames.length > 0, "the handshake reply");
      if (client.frames[0] !== `{}${RS}`) throw new Error(`handshake failed: ${client.frames[0]}`);
    }
    return client;
  }

  send(text: string): void {
    this.socket.send(text);
  }

  /** Sends each text as its own frame, all in one TCP write, so the server reads them together. */
  sendTogether(texts: string[]): void {
    // `ws` keeps its TCP socket in `_socket`; corking it turns the frames' writes into one.
    const tcp = (this.socket as unknown as { _socket: Socket })._socket;
    tcp.cork();
    for (const text of texts) this.socket.send(text);
    tcp.uncork();
  }

  /** Every message received after the handshake reply, parsed. */
  messages(): Array<Record<string, unknown>> {
    return this.frames
      .slice(1)
      .join("")
      .split(RS)
      .filter((record) => record.length > 0)
      .map((record) => JSON.parse(record) as Record<string, unknown>);
  }

  waitFor(condition: (frames: string[]) => boolean, what: string, ms?: number): Promise<void> {
    return waitFor(() => condition(this.frames), () => `${what}; got ${JSON.stringify(this.frames)}`, ms);
  }

  /** The first message matching `predicate`, waiting for it. */
  async next(predicate: (message: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
    await this.waitFor(() => this.messages().some(predicate), what);
    return this.messages().find(predicate)!;
  }

  completion(id: string): Promise<Record<string, unknown>> {
    return this.next((m) => m.type === 3 && m.invocationId === id, `the completion of ${id}`);
  }

  terminate(): void {
    this.socket.terminate();
  }
}
