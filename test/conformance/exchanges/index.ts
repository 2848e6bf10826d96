import type { Exchange } from "../script.js";
import { connectionRequestExchanges } from "./connection-requests.js";
import { negotiateExchanges } from "./negotiate.js";

/** Every exchange, by family: each family is recorded in recordings/<family>.json. */
export const families: Record<string, Exchange[]> = {
  negotiate: negotiateExchanges,
  "connection-requests": connectionRequestExchanges,
};
