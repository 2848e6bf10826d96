// The README's example of a generated client ("Typed clients, generated"), word for word inside
// readmeExample (a test keeps them in step): `npm run typecheck` compiles it against the client
// generated from the README's ChatHub, so the example stays true.
import type { HubConnection } from "../../client/index.js";
import { chatHub } from "./generated/chat-hub.client.js";

declare function show(from: string, text: string): void;

export async function readmeExample(connection: HubConnection): Promise<void> {
  const chat = chatHub(connection);               // the ChatHub above
  chat.on({ message: (from, text) => show(from, text) });
  await chat.join("lobby");                       // typed: a wrong argument fails to compile
  await chat.Send("lobby", "hello");              // `send` is taken: the method goes by its wire name
  await chat.send.join("lobby");                  // fire and forget
}

export async function mistakes(connection: HubConnection): Promise<void> {
  const chat = chatHub(connection);
  // @ts-expect-error `send` holds the fire-and-forget forms: the hub's Send is chat.Send
  await chat.send("lobby", "hi");
  // @ts-expect-error a wrong argument
  await chat.Send("lobby", 1);
  // @ts-expect-error a proxy is never a promise
  void chat.then;
}
