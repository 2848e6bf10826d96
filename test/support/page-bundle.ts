import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * A sample page's script (`samples/<sample>/web/app.ts`) bundled in memory for the browser, so
 * that a browser test serves it in place of the compiled one and needs no dist/ build.
 */
export function bundlePage(sample: string): Promise<Uint8Array> {
  return bundle(`samples/${sample}/web/app.ts`, { minify: false, target: "es2022" });
}

/** The browser bundle of `client/<entry>` as `npm run build:browser` makes it, in memory, so no other test's files are touched. */
export function browserBundle(entry: string): Promise<Uint8Array> {
  return bundle(`client/${entry}`, { minify: true, target: "es2020" });
}

async function bundle(entry: string, options: { minify: boolean; target: string }): Promise<Uint8Array> {
  const { outputFiles } = await build({
    entryPoints: [`${root}/${entry}`],
    bundle: true,
    format: "esm",
    platform: "browser",
    ...options,
    write: false,
    logLevel: "error",
  });
  return outputFiles[0]!.contents;
}
