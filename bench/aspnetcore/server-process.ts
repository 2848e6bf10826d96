import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { ServerCommand, ServerEvent } from "../protocol.js";
import { dotnetTools, projectDir } from "./project.js";

// The ASP.NET Core target in the place of bench/server-process.ts: the runner talks to this
// process over IPC as to a Node target, and it passes each command on to the .NET server as a
// JSON line on stdin and each of the server's JSON lines back (Control.cs). The .NET process
// measures its own CPU time and memory the way server-process.ts does for Node; this relay's own
// few messages a slice are not counted. The runner built the server before the run.

const assembly = (await dotnetTools()).assemblyPath(projectDir);
const server = spawn("dotnet", [assembly], {
  env: { ...process.env, DOTNET_NOLOGO: "1", DOTNET_CLI_TELEMETRY_OPTOUT: "1" },
  stdio: ["pipe", "pipe", "inherit"],
});
const send = (event: ServerEvent | { kind: "failed"; error: string }): void => {
  if (process.connected) process.send!(event);
};

createInterface({ input: server.stdout! }).on("line", (line) => {
  if (line.startsWith("{")) send(JSON.parse(line) as ServerEvent);
});
server.on("error", (error) => send({ kind: "failed", error: `dotnet: ${error.message}` }));
server.on("exit", (code, signal) => {
  send({ kind: "failed", error: `the ASP.NET Core server exited (${code ?? signal})` });
  process.exit(1);
});
process.on("message", (command: ServerCommand) => void server.stdin!.write(`${JSON.stringify(command)}\n`));
// The server stops when its stdin closes: when this process ends, even killed.
process.on("disconnect", () => {
  server.removeAllListeners("exit");
  server.stdin!.end();
  server.once("exit", () => process.exit(0));
  setTimeout(() => server.kill("SIGKILL"), 5000).unref();
});
