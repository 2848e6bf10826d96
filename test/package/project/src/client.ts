import { HubConnection, type HubConnectionOptions } from "hubwire/client";
import { messagePack } from "hubwire/client/msgpack";
import { chatHub } from "./generated/chat-hub.client.js";

// hubwire's client through the generated module, with JSON and with MessagePack.
const url = process.argv[2];
const results: Record<string, unknown> = {};
for (const [name, options] of [["json", {}], ["messagepack", { protocol: messagePack }]] as Array<[string, HubConnectionOptions]>) {
  const connection = new HubConnection(`${url}/chat`, { reconnect: false, ...options });
  const chat = chatHub(connection);
  const echoed = new Promise<string>((resolve) => chat.on({ message: (_from, text) => resolve(text) }));
  await connection.start();
  const greeting: string = await chat.greet("ann");
  await chat.echo("hi");
  const bytes: Uint8Array = await chat.bytes();
  results[name] = { greeting, echoed: await echoed, bytesAreBytes: bytes instanceof Uint8Array };
  await connection.stop();
}
console.log(JSON.stringify(results));
