import { HubwireError } from "../errors.js";

/**
 * How a server rides out a backplane outage and notices servers that die. Every field has a
 * default; docs/scale-out.md explains the design and what each costs.
 *
 * @example
 * new HubServer({ backplane, scaleOut: { outboxMaxAge: 60_000, outboxMaxBytes: 32 * 1024 * 1024 } });
 */
export interface ScaleOutSettings {
  /**
   * How long a message for other servers waits in the outbox while the backplane is away;
   * older ones are dropped (counted and logged). Default 30 000 ms.
   */
  outboxMaxAge?: number;
  /** Bytes of messages the outbox of one hub keeps; past it, the oldest are dropped. Default 16 MiB. */
  outboxMaxBytes?: number;
  /** How often a server announces itself to the others of each hub. Default 1 000 ms. */
  heartbeatInterval?: number;
  /**
   * How long a server may go unheard before the others count it gone: client results it holds
   * fail with ERR_SERVER_GONE. More than two heartbeat intervals. Default 3 000 ms.
   */
  serverTimeout?: number;
  /**
   * Crash recovery of stateful connections (off by default): each one's state is kept by a
   * standby server, which takes it over if its server dies, so its client comes back with the
   * same id, user and groups and gets what was sent to it meanwhile. `true` for the defaults.
   * docs/scale-out.md tells what it costs and what can still be lost.
   */
  recovery?: boolean | RecoverySettings;
}

/** See ScaleOutSettings.recovery. */
export interface RecoverySettings {
  /**
   * Sends one standby keeps for one connection beyond its last checkpoint; past it, that
   * connection's recovery is given up (counted and logged) until its next checkpoint. Default 10 000.
   */
  maxMessages?: number;
}

/** The numeric settings; `recovery` is resolved apart. */
type Timings = Omit<ScaleOutSettings, "recovery">;

/** ScaleOutSettings with every default applied. */
export type ResolvedSettings = Required<Timings> & { recovery: Required<RecoverySettings> | undefined };

const defaultSettings: Required<Timings> = {
  outboxMaxAge: 30_000,
  outboxMaxBytes: 16 * 1024 * 1024,
  heartbeatInterval: 1_000,
  serverTimeout: 3_000,
};

/** The settings with their defaults; throws ERR_INVALID_OPTION, at startup, for one out of range. */
export function resolveSettings(settings: ScaleOutSettings = {}): ResolvedSettings {
  const resolved: ResolvedSettings = { ...defaultSettings, recovery: resolveRecovery(settings.recovery) };
  for (const key of Object.keys(defaultSettings) as Array<keyof Timings>) {
    const value = settings[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value <= 0) throw new HubwireError("ERR_INVALID_OPTION", `scaleOut.${key} must be a positive number; got ${String(value)}.`);
    resolved[key] = value;
  }
  if (resolved.serverTimeout <= 2 * resolved.heartbeatInterval) {
    throw new HubwireError("ERR_INVALID_OPTION", "scaleOut.serverTimeout must be more than two heartbeat intervals.");
  }
  return resolved;
}

function resolveRecovery(recovery: ScaleOutSettings["recovery"]): Required<RecoverySettings> | undefined {
  if (recovery === undefined || recovery === false) return undefined;
  const maxMessages = recovery === true ? undefined : recovery.maxMessages;
  if (maxMessages !== undefined && !(Number.isInteger(maxMessages) && maxMessages > 0)) {
    throw new HubwireError("ERR_INVALID_OPTION", `scaleOut.recovery.maxMessages must be a positive integer; got ${String(maxMessages)}.`);
  }
  return { maxMessages: maxMessages ?? 10_000 };
}

/**
 * With recovery on, how long a reconnect for a connection no server holds waits for a standby to
 * take it over: a dead server is noticed within `serverTimeout` and a heartbeat interval, and
 * as much again leaves room for timers late on a busy server. Undefined with recovery off: such
 * a reconnect gets 404 at once.
 */
export function recoveryWait(settings: ScaleOutSettings | undefined): number | undefined {
  const resolved = resolveSettings(settings);
  return resolved.recovery ? 2 * (resolved.serverTimeout + resolved.heartbeatInterval) : undefined;
}
