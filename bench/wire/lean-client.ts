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
export const keepAliveMs = 10_000;
