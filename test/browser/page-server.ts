import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { InteropHub } from "../../samples/interop-server/interop-hub.js";
import { TestHub } from "../../samples/interop-server/test-hub.js";
import { HubServer, silentLogger, type HubServerOptions } from "../../src/index.js";

/**
 * A page at `/` and the scripts it loads (`scripts`, by path), beside the interop hubs at
 * `/testhub` and `/interophub` (and whatever `map` adds, on a server with `options`), on loopback.
 */
export async function servePage(
  page: string,
  scripts: Record<string, Uint8Array>,
  map: (hubs: HubServer) => void = () => {},
  options: HubServerOptions = {},
): Promise<{ url: string; hubs: HubServer; close(): Promise<void> }> {
  const hubs = new HubServer({ logger: silentLogger, ...options });
  hubs.mapHub("/testhub", TestHub);
  hubs.mapHub("/interophub", InteropHub);
  map(hubs);
  const http: Server = createServer((req, res) => {
    if (req.url === "/") return void res.writeHead(200, { "Content-Type": "text/html" }).end(page);
    const script = scripts[req.url ?? ""];
    if (script) return void res.writeHead(200, { "Content-Type": "text/javascript" }).end(script);
    res.writeHead(404).end();
  });
  hubs.attach(http);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`,
    hubs,
    async close() {
      await hubs.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
