import type { Notification, NotificationKind } from "./notification-types.js";
import { newestOf, NotificationStore, recentLimit } from "./notification-store.js";

/** The sample's state in this process's memory: the default, for one instance. */
export class MemoryNotificationStore extends NotificationStore {
  private nextId = 1;
  private readonly subscriptions = new Map<string, Set<string>>();
  private readonly personal = new Map<string, Notification[]>();
  private readonly byTopic = new Map<string, Notification[]>();
  private readonly announcements: Notification[] = [];
  private readonly unread = new Map<string, number>();
  private readonly users = new Set<string>();

  async create(kind: NotificationKind, fields: Omit<Notification, "id" | "kind" | "at">): Promise<Notification> {
    return { id: this.nextId++, kind, ...fields, at: new Date().toISOString() };
  }

  async knownUsers(): Promise<string[]> {
    return [...this.users];
  }

  async remember(user: string): Promise<void> {
    this.users.add(user);
  }

  async topicsOf(user: string): Promise<string[]> {
    return [...(this.subscriptions.get(user) ?? [])].sort();
  }

  async subscribe(user: string, topic: string): Promise<void> {
    setIn(this.subscriptions, user).add(topic);
  }

  async unsubscribe(user: string, topic: string): Promise<void> {
    this.subscriptions.get(user)?.delete(topic);
  }

  async subscribersOf(topic: string): Promise<string[]> {
    return [...this.subscriptions].filter(([, topics]) => topics.has(topic)).map(([user]) => user);
  }

  async record(notification: Notification, recipients: string[]): Promise<void> {
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

  async unreadOf(user: string): Promise<number> {
    return this.unread.get(user) ?? 0;
  }

  async markAllRead(user: string): Promise<void> {
    this.unread.set(user, 0);
  }

  async recentOfTopic(topic: string): Promise<Notification[]> {
    return [...(this.byTopic.get(topic) ?? [])];
  }

  async recentFor(user: string): Promise<Notification[]> {
    const topics = await this.topicsOf(user);
    return newestOf([this.personal.get(user) ?? [], this.announcements, ...topics.map((t) => this.byTopic.get(t) ?? [])]);
  }

  async close(): Promise<void> {}
}

function listIn(map: Map<string, Notification[]>, key: string): Notification[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

function setIn(map: Map<string, Set<string>>, key: string): Set<string> {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  return set;
}
