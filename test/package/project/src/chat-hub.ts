import { Hub, HubClass, HubMethod } from "hubwire";

export interface ChatClient {
  message(from: string, text: string): void;
}

@HubClass()
export class ChatHub extends Hub<ChatClient> {
  // A field with an initializer: hubs need no useDefineForClassFields setting.
  private readonly salutation = "hello";

  @HubMethod("Greet")
  greet(name: string): string {
    return `${this.salutation} ${name}`;
  }

  @HubMethod("Echo")
  async echo(text: string): Promise<void> {
    await this.clients.caller.message("server", text);
  }

  /** MessagePack carries bytes as bytes; JSON cannot, so this tells the protocols apart. */
  @HubMethod("Bytes")
  bytes(): Uint8Array {
    return new Uint8Array([1, 2, 3]);
  }
}
