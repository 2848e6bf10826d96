// The README's ChatHub ("A hub in 20 lines"), word for word from ChatClient to the class's end
// (a test keeps them in step). Its generated client is the one the README's codegen example uses.
import { Hub, HubClass, HubException, HubMethod } from "../../src/index.js";

interface ChatClient {
  message(from: string, text: string): void;
}

@HubClass()
class ChatHub extends Hub<ChatClient> {
  @HubMethod("Join")
  async join(room: string) {
    await this.groups.addToGroup(this.context.connectionId, room);
  }

  @HubMethod("Send")
  async send(room: string, text: string) {
    if (!text) throw new HubException("Empty message"); // the client sees this text
    await this.clients.group(room).message(this.context.connectionId, text); // type-checked
  }
}

export { ChatHub, type ChatClient };
