import { Heartbeat } from "../../src/connection/heartbeat.js";
import { HubConnection } from "../../src/connection/hub-connection.js";
import type { HubProtocol } from "../../src/protocol/hub-protocol.js";
import type { HubMessage } from "../../src/protocol/messages.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import type { Transport } from "../../src/transports/transport.js";
import { TransportConnection } from "../../src/transports/transport-connection.js";

let counter = 0;

/** A transport that keeps what is sent to it, for tests of the layers above transports. */
export class RecordingTransport implements Transport {
  readonly name = "WebSockets" as const;
  readonly sent: Array<string | Uint8Array> = [];
  /** When set, send throws (a broken socket that misbehaves). */
  failing = false;
  bufferedBytes = 0;

  constructor(private readonly connection: TransportConnection) {}

  send(data: string | Uint8Array): void {
    if (this.failing) throw new Error("socket is broken");
    this.sent.push(data);
  }

  close(): void {
    this.connection.transportClosed();
  }

  abort(): void {
    this.connection.transportClosed();
  }
}

export interface LoopbackConnection {
  connection: HubConnection;
  transport: RecordingTransport;
  /** Every message received so far, decoded. */
  messages(): HubMessage[];
}

// Its clock only: these connections are not checked for keep-alive (a test ends long before it would matter).
const heartbeat = new Heartbeat(new Set(), 60_000, () => {});

/** A handshaken HubConnection over a recording transport. */
export function loopbackConnection(
  options: { userId?: string; protocol?: HubProtocol; connectionId?: string } = {},
): LoopbackConnection {
  const id = options.connectionId ?? `conn-${++counter}`;
  const transportConnection = new TransportConnection(id, id);
  const transport = new RecordingTransport(transportConnection);
  transportConnection.transport = transport;
  transportConnection.state = "active";
  const connection = new HubConnection(
    transportConnection,
    { keepAliveIntervalMs: 60_000, clientTimeoutMs: 120_000, handshakeTimeoutMs: 60_000, clientResultTimeoutMs: 60_000 },
    heartbeat,
    { onData() {}, onClose() {}, onTimeout() {}, onTooLarge() {} },
  );
  const protocol = options.protocol ?? jsonHubProtocol;
  connection.protocol = protocol;
  connection.handshakeComplete = true;
  connection.userIdentifier = options.userId;
  return {
    connection,
    transport,
    messages: () => transport.sent.flatMap((payload) => protocol.parseMessages(payload)),
  };
}
