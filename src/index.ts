import "reflect-metadata";

export { HubServer, type HubServerOptions, type ListenAddress, type MultiplexerOptions, type RawEndpointOptions } from "./server.js";
export type { TelemetryOptions } from "./telemetry/create-telemetry.js";
export type { DashboardOptions } from "./dashboard/dashboard.js";
export type { DashboardLimits } from "./dashboard/dashboard-recorder.js";
export * from "./hubs/index.js";
export * from "./dispatch/index.js";
export {
  type HubLifetimeManager,
  type Target,
  type Backplane,
  type ScaleOutOptions,
  type ScaleOutSettings,
  type ScaleOutStats,
  InMemoryLifetimeManager,
  ScaleOutLifetimeManager,
  AspNetCoreLifetimeManager,
  type AspNetCoreLifetimeOptions,
} from "./lifetime/index.js";
export { type Logger, type LogLevel, type LogFields, consoleLogger, silentLogger } from "./logger.js";
export { HubwireError, LimitExceededError, ErrorCodes, type ErrorCode } from "./errors.js";
export type { TransportName } from "./transports/transport.js";
export { RawConnection, type RawConnectionListener } from "./transports/raw-connection.js";
export type { ConnectionRequest } from "./transports/connection-request.js";
