import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { execFile, spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNotificationServer, type NotificationServer } from "../../samples/notifications/app.js";
import { silentLogger } from "../../src/index.js";
import { launchChromium } from "../browser/chromium.js";
import { closed } from "../interop/fixture.js";
import { tempFolder } from "../support/temp-files.js";
import { eventually, within } from "../support/wait.js";

// These tests run built code from dist/ (processes, the page's modules), built once for the whole
// run by test/support/build-dist.ts. They live in one file, one after the other, because
// `npm run sample:interop` builds dist/ again (as it does for a user) while it starts.

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("the interop sample as a process", () => {
  it("starts with `npm run sample:interop`, prints its URL, and stops cleanly on SIGTERM", async () => {
    const child = spawn("npm", ["run", "--silent", "sample:interop"], {
      cwd: root,
      env: { ...process.env, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      let output = "";
      const url = await within(
        new Promise<string>((resolve) => {
          child.stdout.on("data", (chunk: Buffer) => {
            output += chunk.toString();
            const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(output);
            if (match) resolve(match[1]!);
          });
        }),
        "the sample to print its URL",
        90_000,
      );
      const client = new HubConnectionBuilder().withUrl(`${url}/testhub`).configureLogging(LogLevel.None).build();
      await client.start();
      expect(await client.invoke("Echo", "up")).toBe("up");
      const end = closed(client);
      child.kill("SIGTERM");
      expect(await end).toBeUndefined(); // told with a Close message, no error
      expect(await within(exited, "the process to exit", 10_000)).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  }, 120_000);
});

describe("the codegen command", () => {
  it("exits 0 when the generated clients are current and 1 with ERR_CODEGEN_STALE when not", async () => {
    const cli = (args: string[]) =>
      promisify(execFile)("node", ["dist/src/codegen/cli.js", "codegen", ...args], { cwd: root }).then(
        ({ stdout }) => ({ code: 0, output: stdout }),
        (error: { code: number; stderr: string }) => ({ code: error.code, output: error.stderr }),
      );
    const empty = tempFolder();
    // Two processes at once: each spends seconds loading the TypeScript compiler.
    const [current, stale] = await Promise.all([
      cli(["samples/notifications/notification-hub.ts", "--out", "samples/notifications/web/generated", "--client-import", "../../../../client/index.js", "--check"]),
      cli(["samples/notifications/notification-hub.ts", "--out", empty, "--check"]),
    ]);
    expect(current).toEqual({ code: 0, output: "generated clients are up to date\n" });
    expect(stale.code).toBe(1);
    expect(stale.output).toMatch(/^ERR_CODEGEN_STALE: Generated clients are out of date: /);
  }, 120_000);
});

// The README shows docs/notifications.png; set HUBWIRE_SCREENSHOT=1 to refresh it from this run.
const screenshot = process.env.HUBWIRE_SCREENSHOT ? `${root}docs/notifications.png` : join(tmpdir(), "hubwire-notifications.png");

describe("the notification sample in a real browser", () => {
  let browser: Browser;
  let server: NotificationServer;
  let port = 0;

  beforeAll(async () => {
    // The page runs compiled modules from dist/ (the client, the generated proxy, the page script).
    server = await startNotificationServer({ port: 0, logger: silentLogger });
    port = Number(new URL(server.url).port);
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signIn(name: string, admin: boolean): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1100, height: 640 } })).newPage();
    await page.goto(server.url);
    await page.fill("input[name=name]", name);
    if (admin) await page.check("input[name=admin]");
    await page.click("#sign-in-form button");
    await synced(page, 1);
    return page;
  }

  /** Waits until the page has (re)synchronised `count` times since it loaded. */
  const synced = (page: Page, count: number) =>
    page.waitForFunction((n) => Number(document.body.dataset.syncs ?? 0) >= n, count, { timeout: 20_000 });
  const titles = (page: Page) => page.$$eval("#notifications li .title", (items) => items.map((i) => i.textContent ?? ""));
  const status = (page: Page) => page.textContent("#status");

  async function publish(kind: string, target: string, title: string): Promise<void> {
    const login = await fetch(`${server.url}/api/login`, { method: "POST", body: JSON.stringify({ name: "ops", admin: true }) });
    const { token } = (await login.json()) as { token: string };
    const response = await fetch(`${server.url}/api/notify`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
      body: JSON.stringify({ kind, target, title, body: "" }),
    });
    expect(response.status).toBe(200);
  }

  it("routes personal, topic and everyone's notifications, and survives a server restart", async () => {
    const alice = await signIn("alice", true);
    const bob = await signIn("bob", false);
    expect(await status(alice)).toBe("connected");
    await bob.check("input[data-topic=incidents]");
    await eventually(() => bob.isChecked("input[data-topic=incidents]"), true);

    await publish("personal", "alice", "For alice only");
    await publish("topic", "incidents", "Database failover");
    await publish("announcement", "", "Maintenance tonight");
    await eventually(() => titles(alice), ["announcementMaintenance tonight", "personalFor alice only"]);
    await eventually(() => titles(bob), ["announcementMaintenance tonight", "#incidentsDatabase failover"]);
    // The unread count comes in a call of its own, after the notification.
    await eventually(() => bob.textContent("#unread"), "2");

    // Stop the server: both pages show it, then come back by themselves when it returns.
    await server.close();
    await eventually(() => status(alice), "reconnecting");
    await eventually(() => status(bob), "reconnecting");
    server = await startNotificationServer({ port, logger: silentLogger });
    await synced(alice, 2);
    await synced(bob, 2);
    expect([await status(alice), await status(bob)]).toEqual(["connected", "connected"]);

    // Everything sent after the restart arrives where it should (bob's topic was restored).
    await publish("topic", "incidents", "After the restart");
    await publish("personal", "alice", "Welcome back");
    await eventually(() => titles(bob), ["#incidentsAfter the restart", "announcementMaintenance tonight", "#incidentsDatabase failover"]);
    await eventually(() => titles(alice), ["personalWelcome back", "announcementMaintenance tonight", "personalFor alice only"]);

    expect(await bob.isVisible("#admin")).toBe(false);
    await alice.screenshot({ path: screenshot });
  }, 90_000);
});
