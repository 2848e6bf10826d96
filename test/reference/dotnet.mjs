// Builds and runs the .NET projects under test/reference/ (plain JavaScript, so the npm script runs it
// with node alone; dotnet.d.mts gives the tests its types).
import { execFile, spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));

/** The reference projects, by folder. */
export const projects = {
  aspnetcore: join(here, "aspnetcore"),
  dotnetClient: join(here, "dotnet-client"),
  /** The same checks with the client's version 11: its sources are dotnet-client's. */
  dotnetClient11: join(here, "dotnet-client-11"),
};

/** Folders whose sources a project compiles besides its own. */
const sharedSources = new Map([[projects.dotnetClient11, [projects.dotnetClient]]]);

/** Why .NET projects cannot run here, or undefined when the `dotnet` SDK answers. */
export function dotnetMissingReason() {
  const result = spawnSync("dotnet", ["--version"], { encoding: "utf8", timeout: 60_000 });
  if (result.error) return `the .NET SDK is not installed (dotnet: ${result.error.message})`;
  if (result.status !== 0) return `dotnet --version failed: ${result.stderr.trim()}`;
  const major = Number(result.stdout.trim().split(".")[0]);
  if (major < 10) return `the .NET 10 SDK is needed, found ${result.stdout.trim()}`;
  return undefined;
}

/**
 * Why the .NET tests of `what` cannot run here, or undefined when they can. Under CI=true a
 * missing SDK is an error instead: CI must run them, never skip them.
 */
export function dotnetMissingFor(what) {
  const missing = dotnetMissingReason();
  if (missing && process.env.CI === "true") throw new Error(`CI must run ${what}, but ${missing}`);
  return missing;
}

/** The Release build's entry assembly of a project folder. */
export function assemblyPath(projectDir) {
  const csproj = readdirSync(projectDir).find((name) => name.endsWith(".csproj"));
  if (!csproj) throw new Error(`no .csproj in ${projectDir}`);
  return join(projectDir, "bin", "Release", "net10.0", `${basename(csproj, ".csproj")}.dll`);
}

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "bin" || entry.name === "obj") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.(cs|csproj|props|targets)$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtAt(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * Builds a project in Release when its assembly is missing or older than a source, and resolves
 * with the assembly's path. Build servers are disabled so no compiler process outlives the build.
 */
export async function buildProject(projectDir) {
  const assembly = assemblyPath(projectDir);
  const newest = Math.max(newestSource(projectDir), ...(sharedSources.get(projectDir) ?? []).map(newestSource));
  if (builtAt(assembly) >= newest) return assembly;
  await new Promise((resolve, reject) => {
    execFile(
      "dotnet",
      ["build", projectDir, "-c", "Release", "--nologo", "-v", "q", "--disable-build-servers"],
      { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(`dotnet build ${projectDir} failed:\n${stdout}${stderr}`)) : resolve()),
    );
  });
  return assembly;
}

/**
 * Starts the ASP.NET Core reference server (built first if needed) on a free loopback port and
 * resolves once it prints `listening on <url>`.
 */
export async function startReferenceServer({ env = {}, stdio = "pipe" } = {}) {
  const assembly = await buildProject(projects.aspnetcore);
  const child = spawn("dotnet", [assembly], {
    env: { ...process.env, PORT: "0", DOTNET_NOLOGO: "1", ...env },
    stdio: ["ignore", "pipe", stdio === "inherit" ? "inherit" : "pipe"],
  });
  let output = "";
  const url = await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        child.stdout.off("data", onData);
        resolve(match[1]);
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr?.setEncoding("utf8").on("data", (chunk) => (output += chunk));
    child.once("error", reject);
    child.once("exit", (code, signal) => reject(new Error(`the reference server exited (${code ?? signal}) before listening:\n${output}`)));
  });
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  return {
    url,
    process: child,
    exited,
    /** SIGTERM: ASP.NET Core shuts down gracefully; SIGKILL if it has not exited in 10 s. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
