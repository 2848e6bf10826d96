export * from "./hub-options.js";
export * from "./hub-context.js";
export { type HubActivator } from "./hub-runtime.js";
export { type HubFilter, type HubInvocationContext, type HubLifetimeContext } from "./hub-filter.js";
export { authenticated, type AuthenticatedUser } from "./authentication.js";
export { AuthenticationExpiredError } from "./authentication-expiry.js";
