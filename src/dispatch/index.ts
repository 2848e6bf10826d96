export * from "./hub-options.js";
export * from "./hub-context.js";
export { type HubActivator } from "./hub-runtime.js";
export { type HubFilter, type HubInvocationContext, type HubLifetimeContext } from "./hub-filter.js";
