import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { HubwireError } from "../errors.js";
import { emitClientModule } from "./emit-client.js";
import { readHubs } from "./read-hubs.js";

export interface GenerateOptions {
  /** Hub source files. */
  files: string[];
  /** Output directory: one `<hub-name>.client.ts` per hub. */
  outDir: string;
  clientImport?: string;
  /** Compare instead of writing. */
  check?: boolean;
}

export interface GenerateResult {
  written: string[];
  /** With `check`: files missing or different from what the hubs produce. */
  stale: string[];
}

/** Generates (or, with `check`, verifies) the typed client modules of the hubs in `files`. */
export function generate(options: GenerateOptions): GenerateResult {
  const outDir = resolve(options.outDir);
  const result: GenerateResult = { written: [], stale: [] };
  const hubs = readHubs(options.files);
  for (const file of options.files) {
    if (!hubs.some((hub) => hub.sourceFile === resolve(file))) {
      throw new HubwireError("ERR_CODEGEN_NO_HUBS", `${file} has no hub: no class decorated with @HubClass(). Is it the right file?`);
    }
  }
  for (const hub of hubs) {
    const outFile = join(outDir, `${kebab(hub.className)}.client.ts`);
    const code = emitClientModule(hub, {
      outFile,
      displaySource: relative(process.cwd(), hub.sourceFile).split("\\").join("/"),
      ...(options.clientImport ? { clientImport: options.clientImport } : {}),
    });
    const current = existsSync(outFile) ? readFileSync(outFile, "utf8") : undefined;
    if (options.check) {
      if (current !== code) result.stale.push(outFile);
      continue;
    }
    if (current === code) continue;
    mkdirSync(outDir, { recursive: true });
    writeFileSync(outFile, code);
    result.written.push(outFile);
  }
  return result;
}

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}
