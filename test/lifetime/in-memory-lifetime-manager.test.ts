import { InMemoryLifetimeManager } from "../../src/lifetime/in-memory-lifetime-manager.js";
import { runLifetimeManagerContract } from "./lifetime-manager-contract.js";

runLifetimeManagerContract("in-memory", { create: (options) => new InMemoryLifetimeManager(options) });
