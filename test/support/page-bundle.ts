import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * A sample page's script (`samples/<sample>/web/app.ts`) bundled in memory for the browser, so
 * that a browser test serves it in place of the compiled one and needs no dist/ build.
 */
export async function bundlePage(sample: string): Promise<Uint8Array> {
  const { outputFiles } = await build({
    entryPoints: [`${root}/samples/${sample}/web/app.ts`],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "error",
  });
  return outputFiles[0]!.contents;
}
