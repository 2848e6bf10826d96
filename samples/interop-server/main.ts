import { startInteropServer } from "./app.js";

// Entry point of `npm run sample:interop`: PORT (0 = any free port), stops cleanly on SIGTERM / SIGINT.
const server = await startInteropServer(Number(process.env.PORT ?? 0));
console.log(`listening on ${server.url}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
