// Imports every entry point the installed package exports (what one that needs a missing optional
// peer throws, in its place), and shows what a missing optional peer dependency says.
import { readFileSync } from "node:fs";

const { exports } = JSON.parse(readFileSync(new URL("./node_modules/hubwire/package.json", import.meta.url), "utf8"));
const loaded = {};
for (const key of Object.keys(exports)) {
  const specifier = `hubwire${key.slice(1)}`;
  try {
    loaded[specifier] = Object.keys(await import(specifier)).sort();
  } catch (error) {
    loaded[specifier] = { code: error.code, message: error.message };
  }
}
let redis;
try {
  const { RedisBackplane } = await import("hubwire/redis");
  new RedisBackplane();
  redis = "constructed";
} catch (error) {
  redis = { code: error.code, message: error.message };
}
// Without @opentelemetry/api a server starts and stops as ever (it reports no metrics).
const { HubServer } = await import("hubwire");
const server = new HubServer();
await server.listen(0);
await server.close();
console.log(JSON.stringify({ loaded, redis, server: "ran" }));
