export { ClusterBackplane, type ClusterBackplaneOptions } from "./cluster-backplane.js";
export type { ClusterRelayOptions } from "./cluster-relay.js";
export type { Backplane } from "../lifetime/backplane.js";
