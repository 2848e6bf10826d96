import type { Notification, NotificationKind } from "./notification-types.js";

/** How many notifications each list keeps. */
export const recentLimit = 50;

/**
 * The sample's state: who is subscribed to what, recent notifications per user, per topic and
 * for everyone, and unread counts. In memory for one process
 * (`MemoryNotificationStore`), in Redis when several instances share the work
 * (`RedisNotificationStore`). An abstract class rather than an interface: typedi injects it into
 * the hub by this class.
 */
export abstract class NotificationStore {
  /** A new notification with the next id (ids grow, so they order notifications). */
  abstract create(kind: NotificationKind, fields: Omit<Notification, "id" | "kind" | "at">): Promise<Notification>;
  /** Users who have ever connected: an announcement counts as unread for each. */
  abstract knownUsers(): Promise<string[]>;
  /** Remembers a user who connected: from now on announcements count as unread for them. */
  abstract remember(user: string): Promise<void>;
  /** The user's topics, sorted. */
  abstract topicsOf(user: string): Promise<string[]>;
  abstract subscribe(user: string, topic: string): Promise<void>;
  abstract unsubscribe(user: string, topic: string): Promise<void>;
  abstract subscribersOf(topic: string): Promise<string[]>;
  /** Stores a notification and counts it unread for `recipients`. */
  abstract record(notification: Notification, recipients: string[]): Promise<void>;
  abstract unreadOf(user: string): Promise<number>;
  abstract markAllRead(user: string): Promise<void>;
  /** A topic's recent notifications, newest first. */
  abstract recentOfTopic(topic: string): Promise<Notification[]>;
  /** A user's recent notifications, newest first: personal, their topics', and announcements. */
  abstract recentFor(user: string): Promise<Notification[]>;
  abstract close(): Promise<void>;
}

/** The newest `recentLimit` notifications of several lists. */
export function newestOf(lists: Notification[][]): Notification[] {
  return lists
    .flat()
    .sort((a, b) => b.id - a.id)
    .slice(0, recentLimit);
}
