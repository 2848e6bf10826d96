import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import type { LeanClient } from "./lean-client.js";

/** The official `@microsoft/signalr` client: the check that the lean hubwire loader is honest. */
export class OfficialClient implements LeanClient {
  private readonly connection: HubConnection;

  constructor(port: number) {
    this.connection = new HubConnectionBuilder()
      .withUrl(`http://127.0.0.1:${port}/bench`, { transport: HttpTransportType.WebSockets, skipNegotiation: true })
      .configureLogging(LogLevel.None)
      .build();
  }

  connect(): Promise<void> {
    return this.connection.start();
  }

  call(payload: string, done: () => void): void {
    this.connection.invoke("Echo", payload).then(done, done);
  }

  onTick(listener: (sentAt: number) => void): void {
    this.connection.on("tick", listener);
  }

  join(group: string): Promise<void> {
    return this.connection.invoke("Join", group);
  }

  close(): void {
    void this.connection.stop();
  }
}
