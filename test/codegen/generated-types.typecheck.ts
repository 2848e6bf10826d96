// Compile-time checks of generated clients: every line after @ts-expect-error must fail to
// compile. `npm test` type-checks this file, so a generator or proxy type that lets one of these
// through fails the suite.
import type { HubConnection } from "../../client/index.js";
import { notificationHub } from "../../samples/notifications/web/generated/notification-hub.client.js";
import { interopHub } from "./generated/interop-hub.client.js";

export function checks(connection: HubConnection): void {
  const hub = interopHub(connection);
  // @ts-expect-error a wrong argument type
  void hub.add("1", 2);
  // @ts-expect-error a missing argument
  void hub.add(1);
  // @ts-expect-error a misspelled method
  void hub.addd(1, 2);
  // @ts-expect-error a stream is not a promise
  void hub.counter(1, 0).then;
  // @ts-expect-error an upload takes an async iterable, not an array
  void hub.uploadSum([1, 2, 3]);
  // @ts-expect-error a handler with the wrong signature
  hub.on({ Received: (route: number) => void route });
  // @ts-expect-error a client result of the wrong type
  hub.on({ Result: () => "not a number" });

  const notifications = notificationHub(connection);
  // @ts-expect-error subscribe takes a topic name
  void notifications.subscribe({ topic: "x" });
  // @ts-expect-error GetState resolves with the state, not a string
  const state: Promise<string> = notifications.getState();
  void state;
}
