import { logEvents } from "../logger.js";

/**
 * Every line the dispatcher logs, with its level. What a client causes (an unknown method, a
 * denied call, a HubException, a bad message, a dropped socket) is debug: a server with many
 * clients sees it all day and can do nothing about it. What the application or the operator
 * must fix (a hub method or filter failing unexpectedly, onConnected or onDisconnected
 * throwing, an authorization policy throwing) is error.
 */
export const dispatchLog = logEvents({
  connectionOpened: { level: "debug", message: "Connection opened" },
  connectionClosed: { level: "debug", message: "Connection closed" },
  connectionFaulted: { level: "debug", message: "Connection closed by the server for a fault" },
  clientSilent: { level: "debug", message: "Client silent; waiting for it to reconnect" },
  connectionSuspended: { level: "debug", message: "Connection suspended: its transport dropped; waiting for its client to reconnect" },
  connectionResumed: { level: "debug", message: "Connection resumed on its client's new transport" },
  itemsLeftBehind: { level: "warn", message: "Items of a connection that moved to another server stayed behind" },
  copyEnded: { level: "info", message: "A connection rebuilt here for a server that had only paused ended without its client; its onDisconnected runs on that server" },
  authenticationExpired: { level: "debug", message: "Connection closed: its authentication expired" },
  handshakeFailed: { level: "debug", message: "Handshake failed" },
  userConnectionsRefused: { level: "warn", message: "New connections were refused at their handshake: their user holds maximumConnectionsPerUser" },
  invocationsHeldBack: { level: "warn", message: "Invocations waited their turn: their clients called faster than maximumInvocationsPerSecondPerClient" },
  invocationStarted: { level: "debug", message: "Hub method call started" },
  unknownMethod: { level: "debug", message: "Unknown hub method" },
  wrongArgumentCount: { level: "debug", message: "Hub method called with the wrong argument count" },
  invocationModeMismatch: { level: "debug", message: "Hub method called in the wrong invocation mode" },
  streamCountMismatch: { level: "debug", message: "Hub method called with the wrong number of upload streams" },
  callDenied: { level: "debug", message: "Hub method call denied" },
  uploadStreamIdInUse: { level: "debug", message: "Invocation refused: one of its stream ids is in use" },
  tooManyUploadStreams: { level: "debug", message: "Invocation refused: too many open upload streams" },
  tooManyStreams: { level: "debug", message: "Stream invocation refused: too many open server streams" },
  hubExceptionThrown: { level: "debug", message: "Hub method threw a HubException" },
  methodFailed: { level: "error", message: "Hub method threw" },
  streamFailed: { level: "error", message: "Hub stream failed" },
  notAStream: { level: "error", message: "Streaming hub method returned no async iterable" },
  policyThrew: { level: "error", message: "Authorization policy threw" },
  authenticateThrew: { level: "warn", message: "authenticate threw; the request is refused (401)" },
  userIdProviderThrew: { level: "error", message: "userIdProvider threw; the request is refused (500)" },
  onConnectedFailed: { level: "error", message: "onConnected failed" },
  onDisconnectedFailed: { level: "error", message: "onDisconnected threw" },
  onAuthenticationRefreshedFailed: { level: "error", message: "onAuthenticationRefreshed threw" },
  acceptRefreshThrew: { level: "error", message: "acceptAuthenticationRefresh threw; the fresh authentication is refused" },
  heartbeatFailed: { level: "error", message: "Connection's keep-alive check threw; the connection is closed" },
  closeLeftRunning: { level: "error", message: "server.close() stopped waiting for hub code that has not settled; it is left running" },
  callFailed: { level: "warn", message: "A send or group change of hub code failed (logged in case nothing awaited it)" },
  callRefusedByClient: { level: "debug", message: "A client result or group change of hub code failed for its client (logged in case nothing awaited it)" },
  abortListenerThrew: { level: "error", message: "A listener on a hub's abort signal threw" },
  onConnectedOutlived: {
    level: "error",
    message: "onConnected has not settled within closeTimeout of its connection's close; the lifetime manager forgets the connection without waiting for it",
  },
  lifetimeForgetFailed: { level: "error", message: "Lifetime manager failed to forget a connection" },
  invocationRejected: { level: "error", message: "Invocation ended with an unexpected failure" },
  hubWithoutMethods: { level: "warn", message: "Hub has no @HubMethod(): clients can connect but call nothing" },
  ignoredMessage: { level: "debug", message: "Message for no open invocation ignored" },
});
