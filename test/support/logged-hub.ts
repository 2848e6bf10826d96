import { HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { HubServer, type HubClassType, type HubOptions, type LogFields, type Logger } from "../../src/index.js";

/** A line the server logged. */
export interface LoggedLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  fields?: LogFields;
}

/** One hub on a server of its own, the lines it logs from `level` up, and the official client connected to it. */
export interface LoggedHub {
  readonly lines: LoggedLine[];
  readonly client: HubConnection;
  /** Stops the client, then the server. */
  stop(): Promise<void>;
}

export async function startLoggedHub(
  path: string,
  hubClass: HubClassType,
  { level, hubOptions = {} }: { level: LoggedLine["level"]; hubOptions?: HubOptions },
): Promise<LoggedHub> {
  const lines: LoggedLine[] = [];
  const keep = (lineLevel: LoggedLine["level"]) => (message: string, fields?: LogFields) => void lines.push({ level: lineLevel, message, fields });
  const logger: Logger = { level, debug: keep("debug"), info: keep("info"), warn: keep("warn"), error: keep("error") };
  const server = new HubServer({ logger });
  server.mapHub(path, hubClass, hubOptions);
  const { url } = await server.listen(0, "127.0.0.1");
  const client = new HubConnectionBuilder().withUrl(`${url}${path}`).configureLogging(LogLevel.None).build();
  await client.start();
  return {
    lines,
    client,
    async stop() {
      await client.stop();
      await server.close();
    },
  };
}
