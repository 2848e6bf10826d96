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
}

const defaultSettings: Required<ScaleOutSettings> = {
  outboxMaxAge: 30_000,
  outboxMaxBytes: 16 * 1024 * 1024,
  heartbeatInterval: 1_000,
  serverTimeout: 3_000,
};

/** The settings with their defaults; throws ERR_INVALID_OPTION, at startup, for one out of range. */
export function resolveSettings(settings: ScaleOutSettings = {}): Required<ScaleOutSettings> {
  const resolved = { ...defaultSettings };
  for (const key of Object.keys(defaultSettings) as Array<keyof ScaleOutSettings>) {
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
