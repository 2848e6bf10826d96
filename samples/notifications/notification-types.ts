/** What the notification sample sends and stores. Shared by the hub, the HTTP API and the page. */

export type NotificationKind = "personal" | "topic" | "announcement";

export interface Notification {
  id: number;
  kind: NotificationKind;
  /** Set for topic notifications. */
  topic?: string;
  title: string;
  body: string;
  /** Who published it. */
  from: string;
  /** ISO-8601 time of publication. */
  at: string;
}

/** What to publish: to one user, to a topic's subscribers, or to everyone. */
export interface PublishRequest {
  kind: NotificationKind;
  /** The user name (personal) or topic name (topic); unused for announcements. */
  target?: string;
  title: string;
  body?: string;
}

/** What a signed-in page knows about its user after connecting. */
export interface NotificationState {
  user: string;
  admin: boolean;
  topics: string[];
  /** Topics anyone may subscribe to. */
  availableTopics: string[];
  /** Recent notifications for this user, newest first. */
  notifications: Notification[];
  unread: number;
}

/** The functions the page handles: the hub's TClient. */
export interface NotificationClient {
  /** A notification for this user arrived. */
  notify(notification: Notification): void;
  /** This user's unread count changed (a publication, or another tab marked all read). */
  unreadChanged(count: number): void;
  /** How many tabs (connections) this user has open now, on every instance: one opened or closed. */
  tabsChanged(count: number): void;
}

export const availableTopics = ["deployments", "incidents", "releases", "billing"];
