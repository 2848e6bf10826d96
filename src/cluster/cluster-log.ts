import { logEvents } from "../logger.js";

/** Every line the cluster's relay logs (in the primary), with its level; a worker's backplane logs lifetimeLog.backplaneHandlerThrew. */
export const clusterLog = logEvents({
  workerEnded: {
    level: "error",
    message: "A worker of the cluster left more than maxUnwrittenBytes of what the others sent it unread; it is ended, its clients connect again to the others",
  },
});
