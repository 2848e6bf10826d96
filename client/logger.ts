import { onRejection } from "../src/protocol/thrown-value.js";

/** Structured fields attached to a log line (method, error, ...). */
export type LogFields = Record<string, unknown>;

/**
 * Where the client reports what happens: the same four calls as the server's `Logger`, so one
 * logger object (pino, winston, your own) serves both.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * A logger that writes to the console (the browser's, or Node's), from `level` up. The default
 * (`warn`) shows only what went wrong: a handler that threw, a connection lost or refused.
 *
 * @example
 * const connection = new HubConnection("/hubs/chat", { logger: consoleLogger("debug") });
 */
export function consoleLogger(level: LogLevel = "warn"): Logger {
  const min = rank[level];
  const write = (lvl: Exclude<LogLevel, "silent">) => (message: string, fields?: LogFields) => {
    if (rank[lvl] < min) return;
    const line = `[hubwire] ${message}`;
    if (fields) console[lvl](line, fields);
    else console[lvl](line);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** A logger that drops everything. */
export const silentLogger: Logger = consoleLogger("silent");

/** `logger`, made unable to throw into the code that logs. */
export function guardedLogger(logger: Logger): Logger {
  const guard = (lvl: keyof Logger) => (message: string, fields?: LogFields) => {
    try {
      onRejection(logger[lvl](message, fields), () => {});
    } catch {
      // A logger that fails has nowhere left to report it.
    }
  };
  return { debug: guard("debug"), info: guard("info"), warn: guard("warn"), error: guard("error") };
}
