export * from "./target.js";
export * from "./hub-lifetime-manager.js";
export * from "./in-memory-lifetime-manager.js";
export * from "./backplane.js";
export * from "./scale-out-lifetime-manager.js";
export * from "./aspnetcore-lifetime-manager.js";
