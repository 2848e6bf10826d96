import { MessageType } from "@microsoft/signalr";
import WebSocket from "ws";
import { within } from "../support/wait.js";
import { FuzzClient } from "./fuzz-client.js";
import type { WireFormat } from "./wire-formats.js";

/** A WebSocket that speaks a hub protocol, frames given by hand (see FuzzClient). */
export class FuzzSocket extends FuzzClient {
  closeCode: number | undefined;

  private constructor(
    private readonly socket: WebSocket,
    format: WireFormat,
  ) {
    super(format);
    socket.on("message", (data: Buffer, isBinary) => this.receive(isBinary ? new Uint8Array(data) : data.toString()));
    socket.once("close", (code) => {
      this.closeCode = code;
      this.ended();
    });
  }

  /**
   * Opens a socket to the hub at `url` and makes the handshake; `stateful`: negotiates stateful
   * reconnect first and makes the handshake of version 2, which turns it on.
   */
  static async open(url: string, format: WireFormat, stateful = false): Promise<FuzzSocket> {
    let socketUrl = url.replace(/^http/, "ws");
    if (stateful) {
      const negotiated = await fetch(`${url}/negotiate?negotiateVersion=1&useStatefulReconnect=true`, { method: "POST" });
      const { connectionToken } = (await negotiated.json()) as { connectionToken: string };
      socketUrl += `?id=${connectionToken}`;
    }
    const socket = new WebSocket(socketUrl);
    await within(new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject)), `a WebSocket to ${url}`);
    const client = new FuzzSocket(socket, format);
    await client.handshake(stateful ? 2 : 1);
    return client;
  }

  get closed(): boolean {
    return this.closeCode !== undefined;
  }

  send(frame: string | Uint8Array): Promise<void> {
    this.socket.send(frame);
    return Promise.resolve();
  }

  /** Text that is not UTF-8 is refused by the WebSocket layer (close code 1007), before any hub sees it. */
  protected override closedByTransport(): boolean {
    return this.closeCode === 1007;
  }

  protected endedHow(): string {
    return `WebSocket close code ${this.closeCode}`;
  }

  async end(): Promise<void> {
    await this.send(this.format.frame({ type: MessageType.Close }));
    this.socket.close(1000);
  }

  terminate(): void {
    this.socket.terminate();
  }
}
