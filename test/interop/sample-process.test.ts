import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { closed, within } from "./fixture.js";

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
