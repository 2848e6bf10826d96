import { afterEach, describe, expect, it, vi } from "vitest";
import { consoleLogger, HubConnection, type LogFields, type Logger } from "../../client/index.js";
import { fixturePerTest } from "./fixture-per-test.js";

type Entry = [level: keyof Logger, message: string, fields: LogFields | undefined];

/** A logger that keeps what it is told; `onEntry` lets a test wait for a line. */
function recordingLogger(): Logger & { entries: Entry[]; next(level: keyof Logger): Promise<Entry> } {
  const entries: Entry[] = [];
  const waiters: Array<{ level: keyof Logger; resolve(entry: Entry): void }> = [];
  const write = (level: keyof Logger) => (message: string, fields?: LogFields) => {
    const entry: Entry = [level, message, fields];
    entries.push(entry);
    for (const waiter of waiters.splice(0)) {
      if (waiter.level === level) waiter.resolve(entry);
      else waiters.push(waiter);
    }
  };
  return {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    entries,
    next: (level) => new Promise((resolve) => waiters.push({ level, resolve })),
  };
}

describe("the client's logger", () => {
  const fixture = fixturePerTest();

  async function connect(logger: Logger): Promise<HubConnection> {
    const connection = fixture.track(new HubConnection(`${fixture.server.url}/testhub`, { transports: ["WebSockets"], reconnect: false, logger }));
    await connection.start();
    return connection;
  }

  it("reports a handler that throws, and the connection carries on", async () => {
    const logger = recordingLogger();
    const connection = await connect(logger);
    const bug = new Error("a bug in the page");
    connection.on("message", () => {
      throw bug;
    });
    const reported = logger.next("error");
    await connection.send("InvokeWithString", "pushed");
    expect(await reported).toEqual(["error", "A handler for 'Message' threw.", { error: bug }]);
    expect(await connection.invoke("Echo", "still here")).toBe("still here");
  });

  it("reports a client-result handler that throws; the server gets its text", async () => {
    const logger = recordingLogger();
    const connection = await connect(logger);
    connection.on("Result", () => {
      throw new Error("cannot answer");
    });
    const response = await fetch(`${fixture.server.url}/clientresult/${connection.connectionId}`);
    expect(await response.text()).toContain("Error: cannot answer");
    expect(logger.entries).toContainEqual(["error", "A handler for 'Result' threw (the server is told).", { error: new Error("cannot answer") }]);
  });

  it("reports a listener that throws, and the other listeners still run", async () => {
    const logger = recordingLogger();
    const connection = await connect(logger);
    const heard: string[] = [];
    connection.onClose(() => {
      throw new Error("listener bug");
    });
    connection.onClose(() => heard.push("second"));
    await connection.stop();
    expect(heard).toEqual(["second"]);
    expect(logger.entries).toContainEqual(["error", "An onClose listener threw.", { error: new Error("listener bug") }]);
  });

  it("reports a stream subscriber that throws, and the connection carries on", async () => {
    const logger = recordingLogger();
    const connection = await connect(logger);
    const completed = new Promise<void>((resolve) =>
      connection.stream<string>("Stream").subscribe({
        next: (item) => {
          if (item === "b") throw new Error("subscriber bug");
        },
        complete: resolve,
      }),
    );
    await completed;
    expect(logger.entries).toContainEqual(["error", "A subscriber of the 'Stream' stream threw.", { error: new Error("subscriber bug") }]);
    expect(await connection.invoke("Echo", "still here")).toBe("still here");
  });

  it("warns about a call no handler takes", async () => {
    const logger = recordingLogger();
    const connection = await connect(logger);
    const warned = logger.next("warn");
    await connection.send("InvokeWithString", "nobody listens");
    expect(await warned).toEqual(["warn", "No client method with the name 'Message' found.", undefined]);
  });

  it("is, by default, the console: a handler that throws shows there", async () => {
    const errors: unknown[][] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void errors.push(args));
    const connection = fixture.track(new HubConnection(`${fixture.server.url}/testhub`, { transports: ["WebSockets"], reconnect: false }));
    await connection.start();
    const bug = new Error("a bug in the page");
    const handled = new Promise<void>((resolve) =>
      connection.on("message", () => {
        resolve();
        throw bug;
      }),
    );
    await connection.send("InvokeWithString", "pushed");
    await handled;
    await connection.invoke("Echo", "after the handler ran");
    expect(errors).toContainEqual(["[hubwire] A handler for 'Message' threw.", { error: bug }]);
    vi.restoreAllMocks();
  });

  it("survives a logger that throws", async () => {
    const throwing: Logger = {
      debug: () => {
        throw new Error("logger down");
      },
      info: () => {
        throw new Error("logger down");
      },
      warn: () => {
        throw new Error("logger down");
      },
      error: () => {
        throw new Error("logger down");
      },
    };
    const connection = await connect(throwing);
    const handled = new Promise<void>((resolve) =>
      connection.on("message", () => {
        resolve();
        throw new Error("handler bug");
      }),
    );
    await connection.send("InvokeWithString", "pushed");
    await handled;
    expect(await connection.invoke("Echo", "still here")).toBe("still here");
  });
});

describe("consoleLogger", () => {
  afterEach(() => vi.restoreAllMocks());

  it("writes warnings and errors to the console by default, and nothing below", () => {
    const calls: string[] = [];
    for (const level of ["debug", "info", "warn", "error"] as const) vi.spyOn(console, level).mockImplementation((line: string) => void calls.push(`${level} ${line}`));
    const logger = consoleLogger();
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e", { code: 1 });
    expect(calls).toEqual(["warn [hubwire] w", "error [hubwire] e"]);
  });
});
