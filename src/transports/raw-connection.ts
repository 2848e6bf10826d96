import type { LogWriter } from "../logger.js";
import { asError } from "../protocol/thrown-value.js";
import { transportLog } from "./transport-log.js";
import type { ConnectionRequest } from "./connection-request.js";
import type { ConnectionHandler } from "./connection-endpoint.js";
import type { TransportName } from "./transport.js";
import type { TransportConnection } from "./transport-connection.js";

/** Called for every new connection of a raw endpoint. */
export type RawConnectionListener = (connection: RawConnection) => void;

/**
 * A connection of a raw endpoint: bytes in, bytes out, over any transport, with no handshake and
 * no hub protocol. What a client sends as text arrives as a string, binary as a Uint8Array (and
 * so does a long-polling or SSE send that is not UTF-8: its bytes as they came).
 *
 * @example
 * server.mapConnection("/echo", (connection) => connection.onData((data) => connection.send(data)));
 */
export class RawConnection {
  private dataListener: ((data: string | Uint8Array) => void) | undefined;
  private closeListener: ((error?: Error) => void) | undefined;

  constructor(
    private readonly connection: TransportConnection,
    log: LogWriter,
  ) {
    connection.receiver = {
      onData: (data) => {
        try {
          this.dataListener?.(data);
        } catch (error) {
          // A throwing listener costs its own connection, never the transport's event loop.
          log.write(transportLog.rawListenerThrew, { connectionId: connection.connectionId, error });
          connection.abort(asError(error));
        }
      },
      onClose: (error) => {
        try {
          this.closeListener?.(error);
        } catch (thrown) {
          // Called as the transport closes: the connection is over already, and must still be forgotten.
          log.write(transportLog.rawListenerThrew, { connectionId: connection.connectionId, error: thrown });
        }
      },
    };
  }

  get connectionId(): string {
    return this.connection.connectionId;
  }

  get transport(): TransportName {
    return this.connection.transportName!;
  }

  /** The HTTP request that started the transport (the upgrade, the SSE GET or the first poll). */
  get request(): ConnectionRequest {
    return this.connection.request!;
  }

  /** What the endpoint's `authenticate` hook returned, `null` for anonymous. */
  get user(): unknown {
    return this.connection.user;
  }

  get isOpen(): boolean {
    return this.connection.state !== "closed";
  }

  /** Sends a string as text, bytes as binary (on WebSockets; the HTTP transports carry both as bytes). */
  send(data: string | Uint8Array): void {
    this.connection.send(data);
  }

  /** Ends the connection gracefully. */
  close(): void {
    this.connection.close();
  }

  /** Sets the listener for incoming data (one listener; a second call replaces it). */
  onData(listener: (data: string | Uint8Array) => void): this {
    this.dataListener = listener;
    return this;
  }

  /** Sets the listener for the end of the connection; `error` says why when it ended abnormally. */
  onClose(listener: (error?: Error) => void): this {
    this.closeListener = listener;
    return this;
  }
}

/** Hands each new connection of a raw endpoint to the application's listener. */
export class RawConnectionHandler implements ConnectionHandler {
  constructor(
    private readonly listener: RawConnectionListener,
    private readonly log: LogWriter,
  ) {}

  onConnection(connection: TransportConnection): void {
    const raw = new RawConnection(connection, this.log);
    try {
      this.listener(raw);
    } catch (error) {
      this.log.write(transportLog.rawListenerThrew, { connectionId: connection.connectionId, error });
      connection.abort(asError(error));
    }
  }
}
