import type { Exchange } from "../script.js";
import { badInputExchanges } from "./bad-input.js";
import { connectionRequestExchanges } from "./connection-requests.js";
import { connectionExchanges } from "./connections.js";
import { handshakeExchanges } from "./handshake.js";
import { limitExchanges, timerExchanges } from "./limits-and-timers.js";
import { messageExchanges } from "./messages.js";
import { negotiateExchanges } from "./negotiate.js";
import { statefulExchanges } from "./stateful.js";

/** Every exchange, by family: each family is recorded in recordings/<family>.json. */
export const families: Record<string, Exchange[]> = {
  negotiate: negotiateExchanges,
  "connection-requests": connectionRequestExchanges,
  handshake: handshakeExchanges,
  messages: messageExchanges,
  "bad-input": badInputExchanges,
  connections: connectionExchanges,
  limits: limitExchanges,
  timers: timerExchanges,
  stateful: statefulExchanges,
};
