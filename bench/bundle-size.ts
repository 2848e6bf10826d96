import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

// What a browser downloads for each client: minified, and gzipped as a server would send it.
// The README's table is this output (test/docs/readme-figures.test.ts keeps it so).

const root = new URL("../../", import.meta.url);
// Read the published files directly: the packages' exports maps do not list them.
const published = (path: string) => new URL(`node_modules/${path}`, root).pathname;
const version = (name: string) => (JSON.parse(readFileSync(published(`${name}/package.json`), "utf8")) as { version: string }).version;
const bundles: Array<[string, string]> = [
  ["hubwire/client (JSON)", new URL("dist/browser/hubwire-client.min.js", root).pathname],
  ["hubwire/client/msgpack (add-on)", new URL("dist/browser/hubwire-client-msgpack.min.js", root).pathname],
  ["hubwire/client with the multiplexer (JSON)", new URL("dist/browser/hubwire-client-multiplex.min.js", root).pathname],
  [`@microsoft/signalr ${version("@microsoft/signalr")}`, published("@microsoft/signalr/dist/browser/signalr.min.js")],
  [`socket.io-client ${version("socket.io-client")}`, published("socket.io-client/dist/socket.io.esm.min.js")],
];

console.log("| client | minified KB | gzipped KB |\n|---|---|---|");
for (const [name, file] of bundles) {
  const code = readFileSync(file);
  console.log(`| ${name} | ${(code.length / 1024).toFixed(1)} | ${(gzipSync(code, { level: 9 }).length / 1024).toFixed(1)} |`);
}
