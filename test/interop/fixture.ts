import {
  HttpTransportType,
  HubConnectionBuilder,
  LogLevel,
  type HubConnection,
  type IHttpConnectionOptions,
  type IStreamResult,
} from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { startInteropServer } from "../../samples/interop-server/app.js";
import { silentLogger } from "../../src/index.js";
import { within } from "../support/wait.js";

/** A running server of the interop fixture (interop-fixture.md): hubwire's, or another one. */
export interface FixtureServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Shuts the server down, telling its clients. */
  close(): Promise<void>;
}

/** Where the suites find the fixture server. */
export interface FixtureTarget {
  /** Which implementation: the few expectations where hubwire knowingly differs ask. */
  kind: "hubwire" | "aspnetcore";
  /** A server for one test. */
  acquire(): Promise<FixtureServer>;
  /** Done with it after the test (a shared server stays up; a closed one is started anew). */
  release(server: FixtureServer): Promise<void>;
}

/** Default: a fresh hubwire fixture server per test, in this process. */
let target: FixtureTarget = {
  kind: "hubwire",
  acquire: () => startInteropServer(0, { logger: silentLogger }),
  release: (server) => server.close(),
};

/** Runs the suites imported after this call against another implementation of the fixture. */
export function useFixtureTarget(other: FixtureTarget): void {
  target = other;
}

/** The implementation the suites run against. */
export function serverKind(): FixtureTarget["kind"] {
  return target.kind;
}

/** One way the official client can talk to the fixture. */
export interface ClientSetup {
  name: string;
  transport: HttpTransportType;
  messagePack: boolean;
  skipNegotiation?: boolean;
  /** What GetActiveTransportName answers. */
  transportName: "WebSockets" | "ServerSentEvents" | "LongPolling";
}

export const setups: ClientSetup[] = [
  { name: "WebSockets + JSON", transport: HttpTransportType.WebSockets, messagePack: false, transportName: "WebSockets" },
  {
    name: "WebSockets + JSON, skipNegotiation",
    transport: HttpTransportType.WebSockets,
    messagePack: false,
    skipNegotiation: true,
    transportName: "WebSockets",
  },
  { name: "Server-Sent Events + JSON", transport: HttpTransportType.ServerSentEvents, messagePack: false, transportName: "ServerSentEvents" },
  { name: "long polling + JSON", transport: HttpTransportType.LongPolling, messagePack: false, transportName: "LongPolling" },
  { name: "WebSockets + MessagePack", transport: HttpTransportType.WebSockets, messagePack: true, transportName: "WebSockets" },
  { name: "long polling + MessagePack", transport: HttpTransportType.LongPolling, messagePack: true, transportName: "LongPolling" },
];

/** The fixture server and every client a test made, closed together. */
export class InteropHarness {
  server!: FixtureServer;
  private readonly clients: HubConnection[] = [];

  async start(): Promise<void> {
    this.server = await target.acquire();
  }

  get url(): string {
    return this.server.url;
  }

  build(path: string, setup: ClientSetup, options: IHttpConnectionOptions = {}): HubConnection {
    const builder = new HubConnectionBuilder()
      .withUrl(`${this.url}${path}`, {
        transport: setup.transport,
        ...(setup.skipNegotiation ? { skipNegotiation: true } : {}),
        ...options,
      })
      .configureLogging(LogLevel.None);
    if (setup.messagePack) builder.withHubProtocol(new MessagePackHubProtocol());
    const client = builder.build();
    this.clients.push(client);
    return client;
  }

  async connect(path: string, setup: ClientSetup, options: IHttpConnectionOptions = {}): Promise<HubConnection> {
    const client = this.build(path, setup, options);
    await client.start();
    return client;
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.stop().catch(() => {})));
    if (this.server) await target.release(this.server);
  }
}

/** Every item of a server stream, once it completes. */
export function collect<T>(stream: IStreamResult<T>): Promise<T[]> {
  return within(
    new Promise<T[]>((resolve, reject) => {
      const items: T[] = [];
      stream.subscribe({ next: (item) => items.push(item), complete: () => resolve(items), error: reject });
    }),
    "a stream to complete",
  );
}

/** The first call of a client handler, resolved with its arguments. */
export function nextCall(client: HubConnection, method: string): Promise<unknown[]> {
  return within(
    new Promise<unknown[]>((resolve) => {
      const handler = (...args: unknown[]) => {
        client.off(method, handler);
        resolve(args);
      };
      client.on(method, handler);
    }),
    `a call of ${method}`,
  );
}

/** The error the client's onclose reports. */
export function closed(client: HubConnection): Promise<Error | undefined> {
  return within(new Promise((resolve) => client.onclose(resolve)), "the connection to close");
}
