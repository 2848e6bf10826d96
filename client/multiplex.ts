// A separate entry point, so a page that opens one connection per hub does not load the multiplexer.
export { HubMultiplexer, type HubMultiplexerOptions, type MultiplexedHubOptions } from "./hub-multiplexer.js";
