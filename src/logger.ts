/** Structured fields attached to a log line (connection id, hub, method, error, ...). */
export type LogFields = Record<string, unknown>;

/** Where hubwire reports what happens. Plug in pino, winston or anything with these four calls. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * A logger that writes one line per entry to stderr, from `level` up.
 * The default (`warn`) keeps a server quiet unless something went wrong.
 *
 * @example
 * const server = new HubServer({ logger: consoleLogger("debug") });
 */
export function consoleLogger(level: LogLevel = "warn"): Logger {
  const min = rank[level];
  const write = (lvl: Exclude<LogLevel, "silent">) => (message: string, fields?: LogFields) => {
    if (rank[lvl] < min) return;
    const extra = fields ? " " + formatFields(fields) : "";
    process.stderr.write(`[hubwire] ${lvl} ${message}${extra}\n`);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** A logger that drops everything. */
export const silentLogger: Logger = consoleLogger("silent");

function formatFields(fields: LogFields): string {
  return JSON.stringify(fields, (_key, value: unknown) =>
    value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value,
  );
}
