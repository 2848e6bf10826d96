import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A child process of the bench (a target server or a loader), with typed waits on its messages. */
export class Child<TEvent extends { kind: string }, TCommand> {
  private readonly process: ChildProcess;
  private readonly inbox: TEvent[] = [];
  /** Each pending `next`'s wake-up: several may wait at once (the workers of a cluster's primary). */
  private readonly waiters = new Set<() => void>();
  private exited = false;

  /** `execPath`: run node through another program (valgrind), which gets `execArgv` first. */
  constructor(script: string, args: string[], execArgv: string[], execPath?: string) {
    this.process = fork(fileURLToPath(new URL(script, import.meta.url)), args, {
      execArgv,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      ...(execPath ? { execPath } : {}),
    });
    this.process.on("message", (event: TEvent) => {
      this.inbox.push(event);
      for (const waiter of this.waiters) waiter();
    });
    this.process.on("exit", () => {
      this.exited = true;
      for (const waiter of this.waiters) waiter();
    });
  }

  send(command: TCommand): void {
    this.process.send(command as never);
  }

  /** The next message of `kind` (that `where` accepts, if given); fails if the process exits or `ms` pass first. */
  async next<K extends TEvent["kind"]>(kind: K, ms: number, where?: (event: TEvent) => boolean): Promise<Extract<TEvent, { kind: K }>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const index = this.inbox.findIndex((e) => (e.kind === kind && (!where || where(e))) || e.kind === "failed");
      if (index >= 0) {
        const [event] = this.inbox.splice(index, 1);
        if (event!.kind === "failed") throw new Error((event as unknown as { error: string }).error);
        return event as Extract<TEvent, { kind: K }>;
      }
      if (this.exited) throw new Error(`the child exited before sending '${kind}'`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for '${kind}'`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** Lets the child end by itself (children exit when their IPC channel closes), killing it after `ms`. */
  async stop(ms: number): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.process.disconnect();
    const timer = setTimeout(() => this.kill(), ms);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.process.kill("SIGKILL");
  }
}
