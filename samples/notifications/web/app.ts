// The notification sample's page: sign in, connect with hubwire/client and the generated proxy,
// and keep the inbox, topics and connection status current.
import { HubConnection, type HubClientError } from "../../../client/index.js";
import type { Notification, NotificationState } from "../notification-types.js";
import { notificationHub } from "./generated/notification-hub.client.js";
import { signedOutEverywhere } from "./signed-out.js";

interface Session {
  token: string;
  user: { name: string; admin: boolean };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const storageKey = "hubwire-notifications";

const saved = (): Session | undefined => JSON.parse(localStorage.getItem(storageKey) ?? "null") ?? undefined;
const topicsKey = (user: string) => `${storageKey}-topics-${user}`;

type Status = "connecting" | "connected" | "reconnecting" | "offline" | "signed out";

/** The connection badge, and beside it what is being tried ("attempt 3 failed, retrying in 5 s"). */
function setStatus(status: Status, detail = ""): void {
  const badge = $("status");
  badge.textContent = status;
  badge.className = `status ${status.replace(" ", "-")}`;
  $("status-detail").textContent = detail;
}

/** The server refused the token (401/403): it will not take it again, so ask for a new sign-in. */
function isSignedOut(error: unknown): boolean {
  const { statusCode } = (error ?? {}) as Partial<HubClientError>;
  return statusCode === 401 || statusCode === 403;
}

function signedOut(): void {
  localStorage.removeItem(storageKey);
  setStatus("signed out");
  showSignIn();
  $("signed-out").hidden = false;
}

function showSignIn(): void {
  $("signed-out").hidden = true;
  $("sign-in").hidden = false;
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("whoami").textContent = "";
  $<HTMLFormElement>("sign-in-form").onsubmit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const response = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: form.get("name"), admin: form.get("admin") === "on" }),
    });
    const body = (await response.json()) as Session & { error?: string };
    if (!response.ok) return alert(body.error);
    localStorage.setItem(storageKey, JSON.stringify({ token: body.token, user: body.user }));
    void start(body);
  };
}

async function start(session: Session): Promise<void> {
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("admin").hidden = !session.user.admin;
  // The fragment never reaches the server in the address; the dashboard keeps the token for its tab.
  $<HTMLAnchorElement>("dashboard-link").href = `/hubwire#access_token=${encodeURIComponent(session.token)}`;
  $("whoami").textContent = `${session.user.name}${session.user.admin ? " (admin)" : ""}`;

  // Stateful reconnect: a dropped WebSocket (or a deploy of the server) resumes without losing a notification.
  const connection = new HubConnection("/hubs/notifications", { accessTokenFactory: () => session.token, statefulReconnect: true });
  const hub = notificationHub(connection);
  const inbox: Notification[] = [];
  let myTopics: string[] = JSON.parse(localStorage.getItem(topicsKey(session.user.name)) ?? "[]");

  hub.on({
    notify(notification) {
      inbox.unshift(notification);
      renderInbox(inbox);
      toast(notification);
    },
    unreadChanged: (count) => renderUnread(count),
    tabsChanged: (count) => renderTabs(count),
  });

  // After every (re)connect: restore this user's topics (a restarted server forgot them), then redraw.
  const sync = async () => {
    for (const topic of myTopics) await hub.subscribe(topic);
    const state = await hub.getState();
    // Merge rather than replace: an in-memory server that restarted no longer has what this page
    // already showed. Ids restart with the server, so a notification is known by id and time.
    const key = (n: Notification) => `${n.id}@${n.at}`;
    const known = new Set(inbox.map(key));
    inbox.push(...state.notifications.filter((n) => !known.has(key(n))));
    inbox.sort((a, b) => b.at.localeCompare(a.at) || b.id - a.id);
    render(state);
    document.body.dataset.syncs = String(Number(document.body.dataset.syncs ?? 0) + 1); // for tests and curious people
  };

  function render(state: NotificationState): void {
    renderInbox(inbox);
    renderUnread(state.unread);
    const box = $("topics");
    box.replaceChildren(
      ...state.availableTopics.map((topic) => {
        const label = document.createElement("label");
        const check = document.createElement("input");
        check.type = "checkbox";
        check.checked = state.topics.includes(topic);
        check.dataset.topic = topic;
        check.onchange = async () => {
          myTopics = check.checked ? [...new Set([...myTopics, topic])] : myTopics.filter((t) => t !== topic);
          localStorage.setItem(topicsKey(session.user.name), JSON.stringify(myTopics));
          if (check.checked) {
            for (const old of await hub.subscribe(topic)) if (!inbox.some((n) => n.id === old.id)) inbox.push(old);
            inbox.sort((a, b) => b.id - a.id);
            renderInbox(inbox);
          } else await hub.unsubscribe(topic);
        };
        label.append(check, topic);
        return label;
      }),
    );
  }

  connection.onReconnecting(() => setStatus("reconnecting"));
  connection.onRetrying(({ attempt, delayMs }) => {
    const status = connection.state === "Connecting" ? "connecting" : "reconnecting";
    setStatus(status, `attempt ${attempt} failed, retrying ${delayMs < 500 ? "now" : `in ${Math.round(delayMs / 1000)} s`}`);
  });
  connection.onReconnected(() => {
    setStatus("connected");
    void sync();
  });
  // Refused, or closed because the user signed out on one of their tabs.
  connection.onClose((error) => (isSignedOut(error) || error?.message.includes(signedOutEverywhere) ? signedOut() : setStatus("offline")));

  $("mark-read").onclick = () => void hub.markAllRead();
  $("sign-out").onclick = async () => {
    localStorage.removeItem(storageKey);
    // The server closes every tab of the user, this one included (so the call itself ends unanswered).
    await hub.signOut().catch(() => undefined);
    await connection.stop();
    showSignIn();
  };
  $<HTMLFormElement>("publish-form").onsubmit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const result = $("publish-result");
    try {
      const recipients = await hub.publish({
        kind: form.get("kind") as Notification["kind"],
        target: String(form.get("target") ?? ""),
        title: String(form.get("title") ?? ""),
        body: String(form.get("body") ?? ""),
      });
      result.textContent = `Sent to ${recipients} user(s).`;
      (event.target as HTMLFormElement).reset();
    } catch (error) {
      result.textContent = (error as Error).message;
    }
  };

  setStatus("connecting");
  try {
    await connection.start();
  } catch (error) {
    return isSignedOut(error) ? signedOut() : setStatus("offline");
  }
  setStatus("connected");
  await sync();
}

function renderInbox(inbox: Notification[]): void {
  const list = $("notifications");
  list.replaceChildren(
    ...inbox.map((n) => {
      const item = document.createElement("li");
      item.dataset.kind = n.kind;
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = n.kind === "topic" ? `#${n.topic}` : n.kind;
      const title = document.createElement("div");
      title.className = "title";
      title.append(tag, n.title);
      const meta = document.createElement("div");
      meta.className = "meta";
      meta.textContent = `${n.body ? `${n.body} · ` : ""}from ${n.from} at ${new Date(n.at).toLocaleTimeString()}`;
      item.append(title, meta);
      return item;
    }),
  );
  $("empty").hidden = inbox.length > 0;
}

function renderUnread(count: number): void {
  const badge = $("unread");
  badge.textContent = String(count);
  badge.className = count === 0 ? "badge zero" : "badge";
}

function renderTabs(count: number): void {
  $("tabs").textContent = count === 1 ? "on this tab" : `on ${count} tabs`;
}

function toast(notification: Notification): void {
  const element = document.createElement("div");
  element.className = "toast";
  element.textContent = notification.title;
  $("toasts").append(element);
  setTimeout(() => element.remove(), 4000);
}

const session = saved();
if (session) void start(session);
else showSignIn();
