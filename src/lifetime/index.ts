export * from "./target.js";
export * from "./hub-lifetime-manager.js";
export * from "./in-memory-lifetime-manager.js";
