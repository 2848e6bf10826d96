import { randomUUID } from "node:crypto";
import type { ResolvedHubOptions } from "./dispatch/hub-options.js";
import type { HubClassType } from "./hubs/hub-descriptor.js";
import type { Backplane } from "./lifetime/backplane.js";
import { settledBackplane } from "./lifetime/settled-backplane.js";
import type { HubLifetimeManager } from "./lifetime/hub-lifetime-manager.js";
import { ScaleOutLifetimeManager, type ScaleOutSettings, type ScaleOutStats } from "./lifetime/scale-out-lifetime-manager.js";
import type { LogWriter } from "./logger.js";
import type { HubProtocol } from "./protocol/hub-protocol.js";
import type { HubTelemetry } from "./telemetry/hub-telemetry.js";

/**
 * A server's hubs on its backplane: each hub's lifetime manager shares its connections, groups
 * and users with the other servers under the hub's name, and leaves the cluster when the server
 * closes.
 */
export class ServerScaleOut {
  /** This server's id in the cluster: its hubs' and its endpoints' routes' alike (see ScaleOutOptions.serverId). */
  readonly serverId = randomUUID();
  /** The lifetime managers made here, told to leave before the server closes. */
  private readonly managers: ScaleOutLifetimeManager[] = [];
  /** The first of them for each hub class, for `stats`. */
  private readonly byHub = new Map<HubClassType, ScaleOutLifetimeManager>();
  /** The names hubwire's managers here share their channels under (see lifetimeFor). */
  private readonly channelNames = new Set<string>();
  /** The application's backplane, as every part of the server calls it: its calls never throw (see settledBackplane). */
  readonly backplane: Backplane;

  constructor(
    backplane: Backplane,
    private readonly settings: ScaleOutSettings | undefined,
    private readonly log: LogWriter,
    private readonly telemetry: HubTelemetry | undefined,
  ) {
    this.backplane = settledBackplane(backplane);
  }

  /**
   * A hub's lifetime manager over the backplane: the backplane's own kind, if it makes one, or
   * hubwire's. Each path a hub is mapped at is a hub of its own (its connections, groups and
   * users), as on a single server: hubwire's manager shares its channels under the hub's name,
   * and a class mapped again under its name and path (`ChatHub@/v2/chat`), so that the two share
   * neither sends nor answers. Every server maps the same paths, so the names match.
   */
  lifetimeFor(hubClass: HubClassType, hubName: string, path: string, options: ResolvedHubOptions, protocols: HubProtocol[]): HubLifetimeManager {
    const scaleOut = {
      hubName,
      backplane: this.backplane,
      protocols,
      logger: this.log,
      clientResultTimeout: options.clientResultTimeout,
      maximumGroupsPerConnection: options.maximumGroupsPerConnection,
      settings: this.settings,
      serverId: this.serverId,
    };
    const foreign = this.backplane.lifetimeManagerFor?.(scaleOut);
    if (foreign) return foreign;
    const channelName = this.channelNames.has(hubName) ? `${hubName}@${path}` : hubName;
    this.channelNames.add(channelName);
    const manager = new ScaleOutLifetimeManager({ ...scaleOut, hubName: channelName });
    this.managers.push(manager);
    if (!this.byHub.has(hubClass)) this.byHub.set(hubClass, manager);
    this.telemetry?.observeScaleOut(channelName, () => manager.stats);
    return manager;
  }

  /** What this server sent the others for a hub; undefined for a hub without hubwire's manager. */
  stats(hubClass: HubClassType): ScaleOutStats | undefined {
    return this.byHub.get(hubClass)?.stats;
  }

  /** Every hub leaves the cluster (see ScaleOutLifetimeManager.close); then the backplane closes. */
  async close(): Promise<void> {
    await Promise.all(this.managers.map((manager) => manager.close()));
    await this.backplane.close();
  }
}
