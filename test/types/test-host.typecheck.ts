// Compiled by `npm test` (tsc --noEmit), never run. Each @ts-expect-error line must fail to
// compile: if a test client's types ever accepted it, tsc would report an unused directive.
import { Hub, HubClass, HubMethod } from "../../src/index.js";
import { TestHost, withSignal, type HubStream } from "../../src/testing/index.js";

interface RoomClient {
  message(from: string, text: string): void;
  confirm(question: string): boolean;
}

@HubClass()
export class RoomHub extends Hub<RoomClient> {
  @HubMethod("Send")
  async send(room: string, text: string): Promise<void> {
    await this.clients.group(room).message("me", text);
  }

  @HubMethod()
  count(): number {
    return 1;
  }

  @HubMethod()
  async *ticks(limit: number): AsyncGenerator<number> {
    yield limit;
  }

  @HubMethod()
  refuse(): never {
    throw new Error("no");
  }
}

export async function typed(host: TestHost): Promise<void> {
  const client = await host.connect(RoomHub, { user: { sub: "ann" } });

  // What the test invokes: the hub's methods, `send` included, with their argument and result types.
  await client.hub.send("lobby", "hi");
  const count: number = await client.hub.count();
  const ticks: HubStream<number> = client.hub.ticks(3);
  await client.hub.count(withSignal(AbortSignal.timeout(100)));
  await client.send.send("lobby", "fire and forget");
  const never: Promise<never> = client.hub.refuse();
  void [count, ticks, never];
  // @ts-expect-error a method the hub does not have
  await client.hub.sned("lobby", "hi");
  // @ts-expect-error a wrong argument type
  await client.hub.send("lobby", 42);
  // @ts-expect-error the result has the method's type
  const wrong: string = await client.hub.count();
  // @ts-expect-error lifecycle members are not calls
  await client.hub.onConnected();
  void wrong;

  // What the client receives: typed by the hub's TClient.
  const [from, text]: [string, string] = await client.next("message");
  void [from, text];
  // @ts-expect-error a function the client does not have
  await client.next("mesage");
  for (const received of client.received) {
    if (received.method === "message") {
      const [sender]: [string, string] = received.args;
      void sender;
    }
  }
  client.answer("confirm", (question) => question.length > 0);
  client.answer("confirm", async () => true);
  // @ts-expect-error a client result's answer has the function's return type
  client.answer("confirm", () => "yes");

  // A client connected by path names its hub.
  const byPath = await host.connect<RoomHub>("/rooms");
  await byPath.hub.count();
}
