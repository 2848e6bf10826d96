// `npm run reference:aspnetcore`: builds the ASP.NET Core reference server if needed and runs it on
// a free loopback port (or PORT), printing `listening on http://127.0.0.1:<port>`; SIGTERM stops it.
import { startReferenceServer } from "../dotnet.mjs";

const server = await startReferenceServer({ env: process.env.PORT ? { PORT: process.env.PORT } : {}, stdio: "inherit" });
console.log(`listening on ${server.url}`);
server.process.stdout.pipe(process.stdout);
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.process.kill(signal));
await server.exited;
process.exitCode = server.process.exitCode ?? 0;
