import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";

const connection = new HubConnectionBuilder().withUrl(`${process.argv[2]}/chat`).configureLogging(LogLevel.None).build();
const echoed = new Promise<string>((resolve) => connection.on("message", (_from: string, text: string) => resolve(text)));
await connection.start();
const greeting = await connection.invoke<string>("Greet", "bob");
await connection.invoke("Echo", "hey");
console.log(JSON.stringify({ greeting, echoed: await echoed }));
await connection.stop();
