import { HubwireError } from "../errors.js";
import type { CarriedRevival, ConnectionRevival } from "./connection-moves.js";
import { newConnectionId } from "./connection-ids.js";
import { HubChannel } from "./hub-channel.js";
import type { MultiplexHandler } from "./multiplex-handler.js";
import type { CarriedHub, ChannelEndpoint, MultiplexSettings } from "./multiplex-settings.js";
import { TransportConnection } from "./transport-connection.js";

/** A dead server's multiplexed connection being rebuilt here, hub by hub, until it is held. */
interface Rebuilding {
  carried: CarriedHub;
  hubs: Array<{ carried: CarriedHub; connection: TransportConnection }>;
  /** The stateful hubs' channels its checkpoints named: it is held once each came, or at the wait's end. */
  expected: Set<number>;
  /** The channels whose hubs came (rebuilt or failed). */
  came: Set<number>;
  timer: ReturnType<typeof setTimeout>;
  held: Promise<void>;
  settle(error?: Error): void;
}

/**
 * Crash recovery of multiplexed connections (docs/scale-out.md, "A crashed server"). Each
 * stateful hub of a multiplexed connection is checkpointed by its own hub, to the standby of
 * the connection (every hub of it to the same one), with what rebuilding the connection needs
 * (CarriedHub). When the holder dies, each hub's recovery rebuilds the hub's session here and
 * hands its connection to `reviveHub`; the multiplexed connection is held (findable by its
 * client's reconnect) once every stateful hub its checkpoints named is here, or at the end of
 * `recoveryWaitMs`, since a hub that cannot be recovered never comes. Only then: a client
 * whose socket took the connection over before a hub came would have its Sequence for that
 * hub dropped.
 */
export class MultiplexRevival implements CarriedRevival {
  private readonly rebuilding = new Map<string, Rebuilding>();
  /** Given by the endpoint's router (see ConnectionMoves.attach). */
  revival: ConnectionRevival | undefined;

  constructor(
    private readonly handler: MultiplexHandler,
    private readonly settings: MultiplexSettings,
  ) {}

  reviveHub(value: unknown, connectionId: string, identity: string | undefined, rebuild: (connection: TransportConnection) => void): Promise<void> {
    let carried: CarriedHub;
    try {
      carried = carriedHub(value);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const endpoint: ChannelEndpoint | undefined = this.settings.resolve(carried.hubPath);
    if (!endpoint || !this.revival) return Promise.reject(notRecovered(`No hub is mapped at '${carried.hubPath}' of the multiplexing endpoint here.`));
    const rebuilding = this.rebuilding.get(carried.connectionId) ?? this.start(carried);
    // Its hubs' checkpoints were made at different moments: a hub opened in between is waited for too.
    for (const channel of carried.stateful) if (!rebuilding.came.has(channel)) rebuilding.expected.add(channel);
    rebuilding.came.add(carried.channel);
    try {
      const connection = new TransportConnection(connectionId, newConnectionId(), endpoint.maxBufferedBytes);
      connection.movedIn(identity);
      rebuild(connection); // its session is written to from now on: into its buffer, while suspended
      rebuilding.hubs.push({ carried, connection });
      return rebuilding.held;
    } catch (error) {
      return Promise.reject(error as Error); // this hub alone: its client is told its channel closed
    } finally {
      rebuilding.expected.delete(carried.channel);
      if (rebuilding.expected.size === 0) this.hold(rebuilding);
    }
  }

  private start(carried: CarriedHub): Rebuilding {
    let settle!: (error?: Error) => void;
    const held = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
    held.catch(() => {}); // each hub's recovery hears of a failure through its own wait
    const rebuilding: Rebuilding = { carried, hubs: [], expected: new Set(carried.stateful), came: new Set(), timer: undefined!, held, settle };
    rebuilding.timer = setTimeout(() => this.hold(rebuilding), this.settings.recoveryWaitMs ?? 0);
    rebuilding.timer.unref();
    this.rebuilding.set(carried.connectionId, rebuilding);
    return rebuilding;
  }

  /** Holds the connection with the hubs that came; those that did not are told closed when its client is back. */
  private hold(rebuilding: Rebuilding): void {
    if (this.rebuilding.get(rebuilding.carried.connectionId) !== rebuilding) return;
    this.rebuilding.delete(rebuilding.carried.connectionId);
    clearTimeout(rebuilding.timer);
    const { carried, hubs } = rebuilding;
    if (hubs.length === 0) return rebuilding.settle(notRecovered(`No hub of multiplexed connection '${carried.connectionId}' could be rebuilt here.`));
    const rebuilt = new Set(hubs.map((hub) => hub.carried.channel));
    const dropped = [...new Set(hubs.flatMap((hub) => hub.carried.stateful))].filter((channel) => !rebuilt.has(channel));
    const highestChannel = Math.max(...hubs.map((hub) => hub.carried.highestChannel));
    this.revival!.revive(carried.connectionId, carried.token, carried.identity, (physical) => {
      const multiplexed = this.handler.movedIn(physical, { binary: carried.binary, highestChannel, dropped, recovered: true });
      for (const { carried: hub, connection } of hubs) {
        const channel = new HubChannel(multiplexed, hub.channel, connection, hub.text, this.settings.resolve(hub.hubPath)!.admit, hub.hubPath);
        connection.transport = channel;
        multiplexed.addMoved(channel);
      }
    }).then(
      () => rebuilding.settle(),
      (error: Error) => {
        // Its hubs' sessions were rebuilt already: they end here (onDisconnected), as a connection that could not be held.
        for (const { connection } of hubs) connection.transportClosed(error);
        rebuilding.settle(error);
      },
    );
  }
}

/**
 * The CarriedRevival of a server's multiplexing endpoints: a hub's connection goes to the one
 * its checkpoint names (`find`, by path).
 */
export function carriedRevival(find: (path: string) => MultiplexRevival | undefined): CarriedRevival {
  return {
    reviveHub(carrier, connectionId, identity, rebuild) {
      const path = (carrier as { path?: unknown } | null)?.path;
      const revival = typeof path === "string" ? find(path) : undefined;
      if (!revival) return Promise.reject(notRecovered("No multiplexing endpoint of its connection is mapped here."));
      return revival.reviveHub(carrier, connectionId, identity, rebuild);
    },
  };
}

function notRecovered(message: string): HubwireError {
  return new HubwireError("ERR_CONNECTION_NOT_RECOVERED", message);
}

/** A checkpoint crosses the backplane, as trusted as the servers: its shape is checked all the same. */
function carriedHub(value: unknown): CarriedHub {
  const hub = value as Partial<CarriedHub> | null;
  const valid =
    typeof hub?.path === "string" &&
    typeof hub.connectionId === "string" &&
    typeof hub.token === "string" &&
    (hub.identity === undefined || typeof hub.identity === "string") &&
    typeof hub.binary === "boolean" &&
    Number.isInteger(hub.highestChannel) &&
    Number.isInteger(hub.channel) &&
    typeof hub.hubPath === "string" &&
    typeof hub.text === "boolean" &&
    Array.isArray(hub.stateful) &&
    hub.stateful.every((channel) => Number.isInteger(channel));
  if (!valid) throw notRecovered("A checkpoint of a multiplexed hub that hubwire cannot read.");
  return hub as CarriedHub;
}
