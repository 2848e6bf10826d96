// A separate entry point, so a JSON-only page does not load the MessagePack codec.
import { messagePackHubProtocol } from "../src/protocol/messagepack-protocol.js";

/** The MessagePack hub protocol: `new HubConnection(url, { protocol: messagePack })`. */
export const messagePack = messagePackHubProtocol;
export { MessagePackHubProtocol } from "../src/protocol/messagepack-protocol.js";
