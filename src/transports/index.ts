export * from "./transport.js";
export * from "./connection-request.js";
export * from "./transport-connection.js";
export * from "./connection-endpoint.js";
export { RawConnection, type RawConnectionListener } from "./raw-connection.js";
