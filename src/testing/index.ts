export { TestHost, type TestHostOptions, type ConnectOptions, type RefreshOptions } from "./test-host.js";
export { TestClient, type ClientAnswer, type TestHubCalls, type TestHubSends } from "./test-client.js";
export type { ReceivedMessage, NextOptions } from "./received-messages.js";
export { withSignal, HubError, HubClientError, type HubStream } from "../../client/index.js";
