import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { redisUrl } from "./redis.js";
import { within } from "./wait.js";

const nodeScript = fileURLToPath(new URL("./scale-out-node.mjs", import.meta.url));

export interface ScaleOutProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  url: string;
}

/**
 * Hubwire servers of test/support/scale-out-node.mjs, each a process of its own on the test
 * Redis; a test kills whatever is left with `killAll()` when it ends.
 */
export class ScaleOutProcesses {
  private readonly children = new Set<ChildProcess>();

  /**
   * Starts a server on `port` (0: any) and resolves with its URL once it listens. `channelPrefix`
   * keeps a test's servers apart from other tests'; `scaleOut`: the servers' ScaleOutSettings;
   * `clusterWorkers`: a Node cluster of that many servers on one port (`maxUnwrittenBytes`: its relay's).
   */
  start(channelPrefix: string, options: { port?: number; scaleOut?: object; clusterWorkers?: number; maxUnwrittenBytes?: number } = {}): Promise<ScaleOutProcess> {
    const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redisUrl, CHANNEL_PREFIX: channelPrefix, PORT: String(options.port ?? 0) };
    if (options.scaleOut) env.SCALE_OUT = JSON.stringify(options.scaleOut);
    // A Node cluster of that many workers over ClusterBackplane instead of Redis (see scale-out-node.mjs).
    if (options.clusterWorkers) Object.assign(env, { BACKPLANE: "cluster", WORKERS: String(options.clusterWorkers) });
    if (options.maxUnwrittenBytes) env.MAX_UNWRITTEN = String(options.maxUnwrittenBytes);
    // A process group of its own: killAll ends a cluster's workers with their primary, at once.
    const child = spawn(process.execPath, [nodeScript], { env, stdio: ["ignore", "pipe", "inherit"], detached: true });
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
    let output = "";
    const listening = new Promise<ScaleOutProcess>((resolve) => {
      child.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(output);
        if (match) resolve({ child, url: match[1]! });
      });
    });
    return within(listening, "a server process to listen", 30_000);
  }

  killAll(): void {
    for (const child of this.children) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL"); // its group is gone already
      }
    }
    this.children.clear();
  }
}
