// The browser bundle of a page that opens its hubs over one connection: the whole client and the
// multiplexer in one file, so the HubConnection a multiplexed hub is and the one a page makes
// itself are the same class.
export * from "./index.js";
export * from "./multiplex.js";
