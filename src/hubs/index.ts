export * from "./hub.js";
export * from "./client-proxy.js";
export * from "./hub-context-types.js";
export * from "./hub-exception.js";
export { HubClass, HubMethod, Authorize, UploadStream, type HubClassOptions, type HubMethodOptions, type AuthorizeRule } from "./decorators.js";
export * from "./hub-descriptor.js";
