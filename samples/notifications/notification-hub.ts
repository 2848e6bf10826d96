import { Authorize, Hub, HubClass, HubException, HubMethod } from "../../src/index.js";
import { NotificationStore } from "./notification-store.js";
import {
  availableTopics,
  type Notification,
  type NotificationClient,
  type NotificationState,
  type PublishRequest,
} from "./notification-types.js";
import { Publisher, topicGroup } from "./publisher.js";
import { signedOutEverywhere } from "./web/signed-out.js";
import type { SampleUser } from "./sample-auth.js";

/**
 * Notifications for signed-in users: personal ones, topics they subscribe to, and announcements
 * to everyone. Subscriptions belong to the user, so every tab of theirs gets the topic.
 */
@Authorize()
@HubClass()
export class NotificationHub extends Hub<NotificationClient> {
  constructor(
    private readonly store: NotificationStore,
    private readonly publisher: Publisher,
  ) {
    super();
  }

  private get user(): SampleUser {
    return this.context.user as SampleUser;
  }

  /** A new tab joins the user's topics (Subscribe adds the tabs open then), and every tab hears of it. */
  override async onConnected(): Promise<void> {
    const { name } = this.user;
    await this.store.remember(name);
    for (const topic of await this.store.topicsOf(name)) await this.groups.addToGroup(this.context.connectionId, topicGroup(topic));
    await this.tellTabs();
  }

  override async onDisconnected(): Promise<void> {
    // Best effort: a closing server (or a backplane away) cannot look the user's tabs up.
    await this.tellTabs(this.context.connectionId).catch(() => {});
  }

  /** Tells every tab of the user how many are open, on every instance; `leaving` is still counted there until it is gone. */
  private async tellTabs(leaving?: string): Promise<void> {
    const { name } = this.user;
    const tabs = (await this.connections.ofUser(name)).filter((id) => id !== leaving);
    await this.clients.user(name).tabsChanged(tabs.length);
  }

  /** Everything the page shows after (re)connecting. */
  @HubMethod("GetState")
  async getState(): Promise<NotificationState> {
    const { name, admin } = this.user;
    const [topics, notifications, unread] = await Promise.all([this.store.topicsOf(name), this.store.recentFor(name), this.store.unreadOf(name)]);
    return { user: name, admin, topics, availableTopics, notifications, unread };
  }

  /** Subscribes the user (all their tabs) to a topic; returns the topic's recent notifications. */
  @HubMethod("Subscribe")
  async subscribe(topic: string): Promise<Notification[]> {
    if (!availableTopics.includes(topic)) throw new HubException(`Unknown topic '${topic}'.`);
    const { name } = this.user;
    await this.store.subscribe(name, topic);
    await this.groups.addUserToGroup(name, topicGroup(topic));
    return this.store.recentOfTopic(topic);
  }

  @HubMethod("Unsubscribe")
  async unsubscribe(topic: string): Promise<void> {
    const { name } = this.user;
    await this.store.unsubscribe(name, topic);
    await this.groups.removeUserFromGroup(name, topicGroup(topic));
  }

  /** Signs the user out on every tab, on every instance: the server closes each of their connections. */
  @HubMethod("SignOut")
  signOut(): Promise<void> {
    return this.connections.closeUser(this.user.name, { error: signedOutEverywhere });
  }

  @HubMethod("MarkAllRead")
  async markAllRead(): Promise<void> {
    await this.store.markAllRead(this.user.name);
    await this.publisher.sendUnread([this.user.name]);
  }

  /** The admin form: publishes to a user, a topic or everyone. */
  @Authorize("admin")
  @HubMethod("Publish")
  async publish(request: PublishRequest): Promise<number> {
    const result = await this.publisher.publish(request, this.user.name);
    if (!result.ok) throw new HubException(result.error);
    return result.recipients;
  }
}
