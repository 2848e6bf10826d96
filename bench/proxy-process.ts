import { startRoundRobinProxy } from "./round-robin-proxy.js";

// The round-robin proxy in front of a cluster's nodes, in a process of its own: the bytes it
// pipes cost neither the nodes' CPU nor the loader's. The backends' URLs are its arguments.

const proxy = await startRoundRobinProxy(process.argv.slice(2));
process.on("disconnect", () => void proxy.close().finally(() => process.exit(0)));
process.send!({ kind: "ready", port: Number(new URL(proxy.url).port) });
