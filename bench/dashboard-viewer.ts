import { HubConnection } from "../client/index.js";

// One viewer of a bench server's dashboard, in a process of its own as a browser would be: it
// takes the updates and tells its parent it is watching once the first one arrived.
const url = process.argv[2]!;
const viewer = new HubConnection(url, { reconnect: false, accessTokenFactory: () => "bench" });
let updates = 0;
viewer.on("Update", () => {
  if (++updates === 1) process.send?.("watching");
});
await viewer.start();
process.on("disconnect", () => void viewer.stop().then(() => process.exit(0)));
