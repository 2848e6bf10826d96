/** A loader's connection to one target, speaking its wire protocol with as little work as it can. */
export interface LeanClient {
  /** Opens the connection, handshake included. */
  connect(): Promise<void>;
  /** Sends one echo call; `done` runs when its answer arrives. */
  call(payload: string, done: () => void): void;
  /** What to do with each broadcast or group message (its send time, in µs). */
  onTick(listener: (sentAt: number) => void): void;
  join(group: string): Promise<void>;
  close(): void;
}

/** Keeps a connection from looking idle to a server with a client timeout. */
export let keepAliveMs = 10_000;

/**
 * Connections opened from now on send no keep-alive pings (a count of instructions per accept
 * must not count the pings of the connections already open); they must then close within the
 * server's client timeout.
 */
export function withoutKeepAlive(): void {
  keepAliveMs = 0;
}

/** Calls `ping` every keep-alive interval, unless keep-alive is off. */
export function keepAlive(ping: () => void): ReturnType<typeof setInterval> | undefined {
  return keepAliveMs > 0 ? setInterval(ping, keepAliveMs) : undefined;
}
