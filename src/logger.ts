import { onRejection } from "./protocol/thrown-value.js";
import { HubwireError } from "./errors.js";

/** Structured fields attached to a log line (connection id, hub, method, error, ...). */
export type LogFields = Record<string, unknown>;

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/**
 * Where hubwire reports what happens. Plug in pino, winston or anything with these four calls.
 * `level`, when set, is the lowest level the logger writes: hubwire then skips building the
 * entries below it (without it, every entry is handed over and the logger filters).
 *
 * @example
 * const log = pino({ level: "info" });
 * const logger: Logger = {
 *   level: "info",
 *   debug: (message, fields) => log.debug(fields, message),
 *   info: (message, fields) => log.info(fields, message),
 *   warn: (message, fields) => log.warn(fields, message),
 *   error: (message, fields) => log.error(fields, message),
 * };
 * new HubServer({ logger });
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  readonly level?: LogLevel;
}

/** One kind of log line: its level and its text, declared once per layer (see `*-log.ts`). */
export interface LogEvent {
  readonly level: Exclude<LogLevel, "silent">;
  readonly message: string;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const levels = Object.keys(rank) as LogLevel[];

/** The environment variable that sets the default logger's level without code. */
export const logLevelVariable = "HUBWIRE_LOG";

/**
 * A logger that writes one line per entry to stderr, from `level` up: a timestamp, the level,
 * the message and the fields as JSON. It never throws, whatever the fields hold (a BigInt, a
 * cycle, a throwing getter or `toJSON`). Without `level`, the `HUBWIRE_LOG` environment variable
 * decides (`debug`, `info`, `warn`, `error` or `silent`), else `warn`: a server stays quiet
 * unless something needs an operator.
 *
 * @example
 * const server = new HubServer({ logger: consoleLogger("debug") });
 * // or, without code: HUBWIRE_LOG=debug node server.js
 */
export function consoleLogger(level: LogLevel = levelFromEnvironment() ?? "warn"): Logger {
  if (!levels.includes(level)) invalidLevel("consoleLogger level", level);
  const min = rank[level];
  const write = (lvl: Exclude<LogLevel, "silent">) => (message: string, fields?: LogFields) => {
    if (rank[lvl] < min) return;
    try {
      const extra = fields ? " " + formatFields(fields) : "";
      process.stderr.write(`${new Date().toISOString()} [hubwire] ${lvl} ${message}${extra}\n`);
    } catch {
      // A closed stderr must not fail the code that logs.
    }
  };
  return { level, debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** A logger that drops everything. */
export const silentLogger: Logger = consoleLogger("silent");

function levelFromEnvironment(): LogLevel | undefined {
  const value = process.env[logLevelVariable];
  if (value === undefined || value === "") return undefined;
  const level = value.toLowerCase() as LogLevel;
  if (!levels.includes(level)) invalidLevel(logLevelVariable, value);
  return level;
}

function invalidLevel(what: string, value: unknown): never {
  throw new HubwireError("ERR_INVALID_OPTION", `${what} must be one of ${levels.join(", ")}; got '${String(value)}'.`);
}

/**
 * What hubwire's layers log through: it writes declared events, skips those below the
 * logger's level before any field is built (`enabled`), and never lets a logger's throw reach
 * the code that logs. It is itself a `Logger`, so it can be handed where one is expected.
 */
export class LogWriter implements Logger {
  /** True when debug events are written; hot paths check it before building fields. */
  readonly debugEnabled: boolean;
  readonly level: LogLevel;
  private readonly min: number;

  private constructor(private readonly logger: Logger) {
    this.level = logger.level !== undefined && levels.includes(logger.level) ? logger.level : "debug";
    this.min = rank[this.level];
    this.debugEnabled = this.min <= rank.debug;
  }

  /** The writer for `logger` (itself, if it already is one). */
  static for(logger: Logger): LogWriter {
    return logger instanceof LogWriter ? logger : new LogWriter(logger);
  }

  enabled(event: LogEvent): boolean {
    return rank[event.level] >= this.min;
  }

  write(event: LogEvent, fields?: LogFields): void {
    if (rank[event.level] >= this.min) this.call(event.level, event.message, fields);
  }

  debug(message: string, fields?: LogFields): void {
    if (this.debugEnabled) this.call("debug", message, fields);
  }

  info(message: string, fields?: LogFields): void {
    if (rank.info >= this.min) this.call("info", message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    if (rank.warn >= this.min) this.call("warn", message, fields);
  }

  error(message: string, fields?: LogFields): void {
    if (rank.error >= this.min) this.call("error", message, fields);
  }

  private call(level: Exclude<LogLevel, "silent">, message: string, fields: LogFields | undefined): void {
    try {
      onRejection(this.logger[level](message, fields), () => {}); // an async logger's rejection is its throw
    } catch {
      // A logger that throws loses its line; the call, connection or process it was about goes on.
    }
  }
}

/** Fields as one line of JSON, whatever they hold. */
export function formatFields(fields: LogFields): string {
  try {
    return JSON.stringify(plain(fields, [], 0));
  } catch {
    return '"[fields that cannot be shown]"';
  }
}

const maxDepth = 6;
const maxEntries = 50;

/**
 * A copy of `value` JSON.stringify cannot fail on: no BigInt, no cycle, no `toJSON` or getter
 * that throws (each unreadable part becomes a note in its place), bounded in depth and width.
 */
function plain(value: unknown, ancestors: object[], depth: number): unknown {
  try {
    switch (typeof value) {
      case "string":
      case "boolean":
        return value;
      case "number":
        return Number.isFinite(value) ? value : String(value);
      case "bigint":
        return `${value}n`;
      case "undefined":
        return "undefined";
      case "symbol":
        return value.toString();
      case "function":
        return `[function ${value.name || "anonymous"}]`;
    }
    if (value === null) return null;
    const object = value as object;
    if (ancestors.includes(object)) return "[circular]";
    if (depth >= maxDepth) return "[too deep]";
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
    if (ArrayBuffer.isView(object)) return `[${object.byteLength} bytes]`;
    ancestors.push(object);
    try {
      if (object instanceof Error) {
        const error: Record<string, unknown> = { name: plain(object.name, ancestors, depth + 1), message: plain(object.message, ancestors, depth + 1) };
        if ("code" in object) error.code = plain(object.code, ancestors, depth + 1);
        error.stack = plain(object.stack, ancestors, depth + 1);
        if (object.cause !== undefined) error.cause = plain(object.cause, ancestors, depth + 1);
        return error;
      }
      if (Array.isArray(object)) return object.slice(0, maxEntries).map((item) => plain(item, ancestors, depth + 1));
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(object).slice(0, maxEntries)) {
        copy[key] = plain((object as Record<string, unknown>)[key], ancestors, depth + 1);
      }
      return copy;
    } finally {
      ancestors.pop();
    }
  } catch {
    return "[unreadable]";
  }
}

/** Declares a layer's log events (each a level and a text) in one frozen table. */
export function logEvents<T extends Record<string, LogEvent>>(events: T): Readonly<T> {
  return Object.freeze(events);
}
