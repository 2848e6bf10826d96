import type { HubActivator } from "./dispatch/hub-runtime.js";
import type { AuthorizationPolicy, HubOptions } from "./dispatch/hub-options.js";
import type { HttpServerLimits } from "./http-server-limits.js";
import type { Backplane } from "./lifetime/backplane.js";
import type { ScaleOutSettings } from "./lifetime/scale-out-lifetime-manager.js";
import type { Logger } from "./logger.js";
import type { TelemetryOptions } from "./telemetry/create-telemetry.js";

export interface HubServerOptions extends HubOptions, HttpServerLimits {
  /**
   * Where hubwire reports. Default: `consoleLogger()`, warnings and errors to stderr, or from the
   * level the `HUBWIRE_LOG` environment variable names (`HUBWIRE_LOG=debug`).
   */
  logger?: Logger;
  /** Creates hub instances (and injects their dependencies). Default: typedi's global Container. */
  container?: HubActivator;
  /** Named policies for `@Authorize("name")`. */
  policies?: Record<string, AuthorizationPolicy>;
  /**
   * Scale-out: hubs share connections, groups and users with every server on the same backplane
   * (`new RedisBackplane({ url })` from `hubwire/redis`). The server closes it on `close()`.
   * Default: none, one process.
   */
  backplane?: Backplane;
  /**
   * With a backplane: the bounds of the outbox that holds messages for other servers while the
   * backplane is away, and the heartbeat by which servers notice one that died
   * (docs/scale-out.md). Every field has a default.
   */
  scaleOut?: ScaleOutSettings;
  /**
   * The most connections the server holds at once, across its hubs, raw and multiplexing
   * endpoints (negotiated, running or closing; a multiplexed connection is one, whatever its
   * hubs). Past it, a negotiate, or a WebSocket that skips negotiate, is answered 503 and logged
   * (a warning a period, with how many were refused); the connections the server holds go on.
   * Connections that move in from another server of a cluster are taken all the same. An idle
   * connection holds about 3 KB of heap and 10 KB of the process's memory in all
   * (docs/benchmarks.md): the default, 100 000, is about 1 GB. `null`: no bound.
   */
  maximumConnections?: number | null;
  /**
   * How long a closing connection may take: a WebSocket's close handshake, a long-polling client's
   * last poll. On `close()`, each hub then has as long again for its onDisconnected (and an
   * onConnected still running); hub code that has not settled by then is logged and left running.
   * Default 5 000 ms.
   */
  closeTimeout?: number;
  /**
   * OpenTelemetry metrics and traces (docs/observability.md), through `@opentelemetry/api` when it
   * is installed: by default to the providers registered when the server is made; `false` for
   * none. Without the package, or with no SDK registered, hubwire does no work for them.
   */
  telemetry?: TelemetryOptions | false;
}

/** Where a listening server can be reached. */
export interface ListenAddress {
  host: string;
  port: number;
  /** `http://host:port` */
  url: string;
}

/** Options of a raw connection endpoint (`mapConnection`). */
export type RawEndpointOptions = Pick<
  HubOptions,
  | "transports"
  | "allowedOrigins"
  | "authenticate"
  | "disconnectTimeout"
  | "maximumNegotiatedConnections"
  | "pollTimeout"
  | "maximumSendBufferSize"
  | "maximumReceiveMessageSize"
>;

/** Options of a multiplexing endpoint (`mapMultiplexer`); the hubs it opens keep their own. */
export type MultiplexerOptions = Pick<
  HubOptions,
  | "transports"
  | "allowedOrigins"
  | "disconnectTimeout"
  | "maximumNegotiatedConnections"
  | "pollTimeout"
  | "keepAliveInterval"
  | "clientTimeoutInterval"
  | "maximumSendBufferSize"
  | "maximumReceiveMessageSize"
  | "authenticationRefresh"
> & {
  /** Hubs one connection may have open at once; an open past it is refused with `ERR_MUX_TOO_MANY_HUBS`. Default 16. */
  maximumHubsPerConnection?: number;
};
