import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubConnection, silentLogger, type HubConnectionOptions, type Logger } from "../../client/index.js";
import { within } from "../support/wait.js";
import { fixturePerTest } from "./fixture-per-test.js";

// What the application gives hubwire's client may throw anything, or reject, or answer what the
// protocol cannot carry: each costs its own call or connection, says why, and leaves no
// unhandled rejection behind.

/** A value that `String()` cannot show. */
const unprintable = () =>
  Object.create(null, {
    toString: {
      value: () => {
        throw new Error("no text");
      },
    },
  }) as unknown;

const fixture = fixturePerTest();
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on("unhandledRejection", onUnhandled);
});
afterEach(async () => {
  // A rejection nobody handles is reported once the microtasks of its turn have run.
  await new Promise((resolve) => setImmediate(resolve));
  process.off("unhandledRejection", onUnhandled);
  expect(unhandled).toEqual([]);
});

function connect(options: HubConnectionOptions = {}): HubConnection {
  return fixture.track(new HubConnection(`${fixture.server.url}/interophub`, { logger: silentLogger, ...options }));
}

describe("a client result", () => {
  it("whose handler throws a value with no text is answered with an error, not left to time out", async () => {
    const connection = connect();
    connection.on("Result", () => {
      throw unprintable();
    });
    await connection.start();
    await expect(within(connection.invoke("AskCaller"), "the hub's answer")).rejects.toThrow("(a thrown value that cannot be shown)");
  });

  it("that the protocol cannot carry (a BigInt in JSON) is answered with an error saying so", async () => {
    const connection = connect();
    connection.on("Result", () => 10n);
    await connection.start();
    await expect(within(connection.invoke("AskCaller"), "the hub's answer")).rejects.toThrow("The client's result could not be sent");
  });
});

it("ends an upload whose source throws a value with no text, and the call fails", async () => {
  const connection = connect();
  await connection.start();
  async function* numbers(): AsyncGenerator<number> {
    yield 1;
    throw unprintable();
  }
  await expect(within(connection.invoke("UploadSum", numbers()), "the upload's call to end")).rejects.toThrow();
  expect(await connection.invoke("Add", 1, 2)).toBe(3);
});

it("closes a long-polling connection whose accessTokenFactory throws undefined on a later poll", async () => {
  let failing = false;
  const connection = connect({
    transports: ["LongPolling"],
    reconnect: false,
    accessTokenFactory: () => {
      if (!failing) return "token";
      failing = false; // once: the DELETE that ends the connection goes with a token again
      throw undefined;
    },
  });
  const closed = new Promise<Error | undefined>((resolve) => connection.onClose(resolve));
  await connection.start();
  failing = true;
  // Another client's broadcast ends the poll under way; the next one asks for a token.
  const other = connect({ transports: ["WebSockets"] });
  await other.start();
  await other.invoke("SendToAll", "hello");
  expect(await within(closed, "the connection to close")).toBeInstanceOf(Error);
  expect(connection.state).toBe("Disconnected");
});

describe.each([
  ["throws", () => { throw new Error("broken policy"); }],
  ["gives NaN", () => Number.NaN],
])("a retry policy that %s", (_what, nextDelay) => {
  it("ends the reconnect: the connection closes, and the log says why", async () => {
    const lines: string[] = [];
    const logger: Logger = { ...silentLogger, error: (message: string) => void lines.push(message) };
    const connection = connect({ transports: ["WebSockets"], logger, reconnect: { nextDelay } });
    const closed = new Promise<Error | undefined>((resolve) => connection.onClose(resolve));
    await connection.start();
    await connection.send("CloseMe", "going away", true); // the server asks the client to reconnect
    expect((await within(closed, "the connection to close"))?.message).toContain("going away");
    expect(connection.state).toBe("Disconnected");
    expect(lines.some((line) => line.startsWith("The retry policy"))).toBe(true);
  });
});

describe("an async logger or listener that rejects", () => {
  it("leaves no unhandled rejection: a listener's is logged as its throw", async () => {
    const lines: string[] = [];
    const reject = () => Promise.reject(new Error("logger down"));
    const logger: Logger = { debug: reject, info: reject, warn: reject, error: (message: string) => (lines.push(message), reject()) } as Logger;
    const connection = connect({ logger, reconnect: false });
    const closed = new Promise<void>((resolve) => connection.onClose(() => resolve()));
    connection.onClose(async () => {
      throw new Error("listener down");
    });
    await connection.start();
    connection.on("Nobody", () => {});
    await connection.stop();
    await closed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toContain("An onClose listener threw.");
  });
});
