// A separate entry point, so a page that opens one connection per hub does not load the multiplexer.
export { HubMultiplexer } from "./hub-multiplexer.js";
export type { HubMultiplexerOptions, MultiplexedHubOptions } from "./multiplexer-options.js";
