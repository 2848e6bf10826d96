import { TestHost } from "hubwire/testing";
import { ChatHub } from "./chat-hub.js";

// hubwire/testing from the installed package: the hub in process, no server listening.
const host = new TestHost();
host.mapHub("/chat", ChatHub);
const client = await host.connect(ChatHub, { user: { sub: "ann" } });
const greeting: string = await client.hub.greet("ann");
await client.hub.echo("hi");
const [from, text]: [string, string] = await client.next("message");
await host.close();
console.log(JSON.stringify({ greeting, from, text }));
