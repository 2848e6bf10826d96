import { fileURLToPath, pathToFileURL } from "node:url";
import { serverOf, type TargetName } from "../protocol.js";

/** The ASP.NET Core bench server's project folder (this file runs from dist/bench/aspnetcore/). */
export const projectDir = fileURLToPath(new URL("../../../bench/aspnetcore/", import.meta.url));

type DotnetTools = typeof import("../../test/reference/dotnet.mjs");

/** The build and run helpers of the .NET reference projects, shared rather than copied. */
export function dotnetTools(): Promise<DotnetTools> {
  return import(pathToFileURL(fileURLToPath(new URL("../../../test/reference/dotnet.mjs", import.meta.url))).href) as Promise<DotnetTools>;
}

/**
 * Builds the ASP.NET Core bench server in Release if a source is newer than the build, before any
 * measurement starts, so no run times a build. Resolves with why it cannot run (no .NET 10 SDK,
 * a failed build), or undefined when it is ready.
 */
export async function prepareAspnetcore(): Promise<string | undefined> {
  const dotnet = await dotnetTools();
  const missing = dotnet.dotnetMissingReason();
  if (missing) return missing;
  try {
    await dotnet.buildProject(projectDir);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Of `wanted`, the ASP.NET Core targets that cannot run here (all or none), after building their
 * server; prints one line saying why when they are left out.
 */
export async function unavailableTargets(wanted: TargetName[]): Promise<{ targets: TargetName[]; reason?: string }> {
  const aspnetcore = wanted.filter((t) => serverOf[t] === "aspnetcore");
  if (aspnetcore.length === 0) return { targets: [] };
  const reason = await prepareAspnetcore();
  if (!reason) return { targets: [] };
  console.log(`ASP.NET Core targets left out (${aspnetcore.join(", ")}): ${reason}\n`);
  return { targets: aspnetcore, reason };
}
