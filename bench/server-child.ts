import { Child } from "./child.js";
import { serverOf, type ServerCommand, type ServerEvent, type TargetName } from "./protocol.js";

/**
 * A target's server process: a Node target in server-process.js (with --expose-gc, so its report
 * follows a full collection), ASP.NET Core behind its relay (aspnetcore/server-process.js).
 */
export function serverChild(target: TargetName): Child<ServerEvent, ServerCommand> {
  const server = serverOf[target];
  return server === "aspnetcore" ? new Child("./aspnetcore/server-process.js", [], []) : new Child("./server-process.js", [server], ["--expose-gc"]);
}
