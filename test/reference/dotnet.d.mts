import type { ChildProcess } from "node:child_process";

export declare const projects: { aspnetcore: string; dotnetClient: string; dotnetClient11: string; aspnetcore11: string };
export declare function dotnetMissingReason(): string | undefined;
export declare function dotnetMissingFor(what: string): string | undefined;
export declare function assemblyPath(projectDir: string): string;
export declare function buildProject(projectDir: string): Promise<string>;
export declare function aspnetcore11Root(): Promise<string>;

export interface ReferenceServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  process: ChildProcess;
  /** Settles when the process has exited. */
  exited: Promise<void>;
  stop(): Promise<void>;
}
export declare function startReferenceServer(options?: {
  env?: Record<string, string>;
  /** "inherit" passes the server's stderr through. */
  stdio?: "pipe" | "inherit";
  /** The project to run (default: the reference server, projects.aspnetcore). */
  project?: string;
  /** Run it on ASP.NET Core 11 (see aspnetcore11Root). */
  aspnetcore11?: boolean;
}): Promise<ReferenceServer>;
