import { Hub, HubClass, HubMethod, HubServer, silentLogger, UploadStream, type HubServerOptions, type ListenAddress } from "../../src/index.js";

/** What the attacks' hub has seen, for an attack to know its calls have arrived. */
export const hubStats = { slowCalls: 0, uploads: 0, streams: 0 };

let release: () => void = () => {};
let held = new Promise<void>((resolve) => (release = resolve));

/** Lets every held call (Slow, Upload) finish, and the ones after them too, until holdCalls(). */
export function releaseHeldCalls(): void {
  release();
}

/** Slow and Upload calls wait from now on, until releaseHeldCalls(). */
export function holdCalls(): void {
  release();
  held = new Promise<void>((resolve) => (release = resolve));
}

const streamItem = "s".repeat(64);

/** A hub with the methods the attacks lean on: slow calls, uploads nobody reads, endless streams, joins. */
@HubClass()
export class AbuseHub extends Hub<unknown> {
  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }

  /** A slow async method: it waits until the attack is over. */
  @HubMethod("Slow")
  async slow(_payload: unknown): Promise<void> {
    hubStats.slowCalls++;
    await held;
  }

  /** Takes an upload stream and never reads it. */
  @HubMethod("Upload")
  async upload(@UploadStream() _items: AsyncIterable<unknown>): Promise<void> {
    hubStats.uploads++;
    await held;
  }

  /** Streams small items for as long as the client lets it. */
  @HubMethod("Forever")
  async *forever(): AsyncGenerator<string> {
    hubStats.streams++;
    for (;;) yield streamItem;
  }

  @HubMethod("Join")
  join(group: string): Promise<void> {
    return this.groups.addToGroup(this.context.connectionId, group);
  }
}

/** The server the attacks target: the hub at `/abuse`, on its own HTTP server (`listen`). */
export async function startAbuseServer(options: HubServerOptions = {}): Promise<{ server: HubServer; address: ListenAddress; url: string }> {
  hubStats.slowCalls = hubStats.uploads = hubStats.streams = 0;
  holdCalls();
  const server = new HubServer({ logger: silentLogger, ...options });
  // A bearer token names its user (the attack of one user's connections); none is anonymous, as the other attacks and the canary are.
  server.mapHub("/abuse", AbuseHub, { authenticate: (_request, token) => (token ? { sub: token } : null) });
  const address = await server.listen(0);
  return { server, address, url: `${address.url}/abuse` };
}
