import { Service } from "typedi";
import type { Notification, NotificationKind } from "./notification-types.js";

/** How many notifications each list keeps. */
const recentLimit = 50;

/**
 * The sample's state, in memory: who is subscribed to what, recent notifications per user, per
 * topic and for everyone, unread counts, and the open connections of each user. A real
 * application keeps this in its database.
 */
@Service()
export class NotificationStore {
  private nextId = 1;
  private readonly subscriptions = new Map<string, Set<string>>();
  private readonly personal = new Map<string, Notification[]>();
  private readonly byTopic = new Map<string, Notification[]>();
  private readonly announcements: Notification[] = [];
  private readonly unread = new Map<string, number>();
  private readonly connections = new Map<string, Set<string>>();

  create(kind: NotificationKind, fields: Omit<Notification, "id" | "kind" | "at">): Notification {
    return { id: this.nextId++, kind, ...fields, at: new Date().toISOString() };
  }

  knownUsers(): string[] {
    return [...this.connections.keys()];
  }

  connected(user: string, connectionId: string): void {
    let set = this.connections.get(user);
    if (!set) this.connections.set(user, (set = new Set()));
    set.add(connectionId);
  }

  disconnected(user: string, connectionId: string): void {
    // The user stays known (announcements still count as unread for them); only the id goes.
    this.connections.get(user)?.delete(connectionId);
  }

  connectionsOf(user: string): string[] {
    return [...(this.connections.get(user) ?? [])];
  }

  topicsOf(user: string): string[] {
    return [...(this.subscriptions.get(user) ?? [])].sort();
  }

  subscribe(user: string, topic: string): void {
    let topics = this.subscriptions.get(user);
    if (!topics) this.subscriptions.set(user, (topics = new Set()));
    topics.add(topic);
  }

  unsubscribe(user: string, topic: string): void {
    this.subscriptions.get(user)?.delete(topic);
  }

  subscribersOf(topic: string): string[] {
    return [...this.subscriptions].filter(([, topics]) => topics.has(topic)).map(([user]) => user);
  }

  /** Stores a notification and counts it unread for `recipients`. */
  record(notification: Notification, recipients: string[]): void {
    const list =
      notification.kind === "personal"
        ? listIn(this.personal, recipients[0]!)
        : notification.kind === "topic"
          ? listIn(this.byTopic, notification.topic!)
          : this.announcements;
    list.unshift(notification);
    list.length = Math.min(list.length, recentLimit);
    for (const user of recipients) this.unread.set(user, (this.unread.get(user) ?? 0) + 1);
  }

  unreadOf(user: string): number {
    return this.unread.get(user) ?? 0;
  }

  markAllRead(user: string): void {
    this.unread.set(user, 0);
  }

  recentOfTopic(topic: string): Notification[] {
    return [...(this.byTopic.get(topic) ?? [])];
  }

  /** A user's recent notifications, newest first: personal, their topics', and announcements. */
  recentFor(user: string): Notification[] {
    const lists = [this.personal.get(user) ?? [], this.announcements, ...this.topicsOf(user).map((t) => this.byTopic.get(t) ?? [])];
    return lists
      .flat()
      .sort((a, b) => b.id - a.id)
      .slice(0, recentLimit);
  }
}

function listIn(map: Map<string, Notification[]>, key: string): Notification[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}
