// Builds and runs the .NET projects under test/reference/ (plain JavaScript, so the npm script runs it
// with node alone; dotnet.d.mts gives the tests its types).
import { execFile, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));

/** The reference projects, by folder. */
export const projects = {
  aspnetcore: join(here, "aspnetcore"),
  dotnetClient: join(here, "dotnet-client"),
  /** The same checks with the client's version 11: its sources are dotnet-client's. */
  dotnetClient11: join(here, "dotnet-client-11"),
  /** A hub with SignalR 11's authentication refresh, run on ASP.NET Core 11 (see aspnetcore11Root). */
  aspnetcore11: join(here, "aspnetcore-11"),
};

/** Folders whose sources a project compiles besides its own. */
const sharedSources = new Map([
  [projects.dotnetClient11, [projects.dotnetClient]],
  [projects.aspnetcore11, [projects.aspnetcore]],
]);

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

const runtime11 = join(here, "aspnetcore-11-runtime");

/**
 * A .NET root whose shared frameworks are .NET 11 and ASP.NET Core 11, for the SDK here (.NET 10)
 * cannot install them: their runtime packs (restored from NuGet by aspnetcore-11-runtime) laid
 * out as shared frameworks beside a copy of the SDK's own `dotnet` host. Made once, in
 * aspnetcore-11-runtime/root; resolves with that folder.
 */
export async function aspnetcore11Root() {
  const root = join(runtime11, "root");
  const done = join(root, "assembled");
  if (existsSync(done)) return root;
  if (process.platform !== "linux" || process.arch !== "x64") throw new Error("the ASP.NET Core 11 runtime is assembled for linux-x64 only");
  await new Promise((resolve, reject) => {
    execFile("dotnet", ["restore", runtime11, "--nologo", "-v", "q"], { timeout: 600_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`dotnet restore ${runtime11} failed:\n${stdout}${stderr}`)) : resolve(),
    );
  });
  const packages = process.env.NUGET_PACKAGES ?? join(homedir(), ".nuget", "packages");
  const pack = (name) => join(packages, name, "11.0.0", "runtimes", "linux-x64");
  const host = dirname(realpathSync(spawnSync("which", ["dotnet"], { encoding: "utf8" }).stdout.trim()));
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  cpSync(join(host, "dotnet"), join(root, "dotnet"));
  cpSync(join(host, "host"), join(root, "host"), { recursive: true });
  const netcore = join(root, "shared", "Microsoft.NETCore.App", "11.0.0");
  cpSync(join(pack("microsoft.netcore.app.runtime.linux-x64"), "lib", "net11.0"), netcore, { recursive: true });
  cpSync(join(pack("microsoft.netcore.app.runtime.linux-x64"), "native"), netcore, { recursive: true });
  cpSync(join(pack("microsoft.aspnetcore.app.runtime.linux-x64"), "lib", "net11.0"), join(root, "shared", "Microsoft.AspNetCore.App", "11.0.0"), { recursive: true });
  writeFileSync(done, "");
  return root;
}

/**
 * Starts an ASP.NET Core server (the reference server unless `project` says another; built first
 * if needed) on a free loopback port and resolves once it prints `listening on <url>`. With
 * `aspnetcore11`, it runs on ASP.NET Core 11 (see aspnetcore11Root), rolled forward from its
 * .NET 10 build.
 */
export async function startReferenceServer({ env = {}, stdio = "pipe", project = projects.aspnetcore, aspnetcore11 = false } = {}) {
  const assembly = await buildProject(project);
  const root = aspnetcore11 ? await aspnetcore11Root() : undefined;
  const onRoot = root ? { DOTNET_ROOT: root, DOTNET_ROLL_FORWARD: "Major", DOTNET_MULTILEVEL_LOOKUP: "0" } : {};
  const child = spawn(root ? join(root, "dotnet") : "dotnet", [assembly], {
    env: { ...process.env, PORT: "0", DOTNET_NOLOGO: "1", ...onRoot, ...env },
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
