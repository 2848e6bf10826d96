import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { HubServer } from "hubwire";
import { ChatHub } from "./chat-hub.js";

// The page and the shipped browser bundles, found through the package's exports as a user would.
const files: Record<string, [type: string, body: string]> = {
  "/": ["text/html", readFileSync(new URL("../page.html", import.meta.url), "utf8")],
  "/hubwire-client.min.js": ["text/javascript", readFileSync(fileURLToPath(import.meta.resolve("hubwire/client/browser")), "utf8")],
  "/hubwire-client-msgpack.min.js": ["text/javascript", readFileSync(fileURLToPath(import.meta.resolve("hubwire/client/browser/msgpack")), "utf8")],
  "/hubwire-client-multiplex.min.js": ["text/javascript", readFileSync(fileURLToPath(import.meta.resolve("hubwire/client/browser/multiplex")), "utf8")],
};

const http = createServer((req, res) => {
  const file = files[req.url ?? ""];
  if (file) res.writeHead(200, { "Content-Type": file[0] }).end(file[1]);
  else res.writeHead(404).end();
});
const hubs = new HubServer();
hubs.mapHub("/chat", ChatHub);
hubs.mapMultiplexer("/hubs");
hubs.attach(http);
http.listen(0, "127.0.0.1", () => console.log(`http://127.0.0.1:${(http.address() as AddressInfo).port}`));
process.once("SIGTERM", () => void hubs.close().then(() => http.close()));
