import type { HubContext } from "../../src/index.js";
import type { NotificationStore } from "./notification-store.js";
import { availableTopics, type Notification, type NotificationClient, type PublishRequest } from "./notification-types.js";

export type PublishResult = { ok: true; notification: Notification; recipients: number } | { ok: false; error: string };

/**
 * Publishes notifications through the hub context, from the hub (admin form) and from the HTTP
 * API alike: stores them, then sends each to its audience and updates unread counts.
 */
export class Publisher {
  constructor(
    private readonly store: NotificationStore,
    private readonly hub: HubContext<NotificationClient>,
  ) {}

  async publish(request: PublishRequest, from: string): Promise<PublishResult> {
    const title = typeof request.title === "string" ? request.title.trim() : "";
    const body = typeof request.body === "string" ? request.body.trim() : "";
    if (!title || title.length > 120 || body.length > 1000) return { ok: false, error: "A title (up to 120 characters) is required; the body is at most 1000." };
    const { clients } = this.hub;
    switch (request.kind) {
      case "personal": {
        const user = request.target?.trim();
        if (!user) return { ok: false, error: "A personal notification needs a user name." };
        const notification = await this.store.create("personal", { title, body, from });
        await this.store.record(notification, [user]);
        await clients.user(user).notify(notification);
        await this.sendUnread([user]);
        return { ok: true, notification, recipients: 1 };
      }
      case "topic": {
        const topic = request.target?.trim() ?? "";
        if (!availableTopics.includes(topic)) return { ok: false, error: `Unknown topic '${topic}'.` };
        const notification = await this.store.create("topic", { topic, title, body, from });
        const subscribers = await this.store.subscribersOf(topic);
        await this.store.record(notification, subscribers);
        await clients.group(topicGroup(topic)).notify(notification);
        await this.sendUnread(subscribers);
        return { ok: true, notification, recipients: subscribers.length };
      }
      case "announcement": {
        const notification = await this.store.create("announcement", { title, body, from });
        const everyone = await this.store.knownUsers();
        await this.store.record(notification, everyone);
        await clients.all.notify(notification);
        await this.sendUnread(everyone);
        return { ok: true, notification, recipients: everyone.length };
      }
      default:
        return { ok: false, error: "kind must be 'personal', 'topic' or 'announcement'." };
    }
  }

  /** Unread counts differ per user, so each gets its own. */
  async sendUnread(users: string[]): Promise<void> {
    await Promise.all(users.map(async (user) => this.hub.clients.user(user).unreadChanged(await this.store.unreadOf(user))));
  }
}

/** The hub group of a topic's subscribers. */
export function topicGroup(topic: string): string {
  return `topic:${topic}`;
}
