// Builds the Hydrogen web app into OUT_DIR: app/ bundled with esbuild, plus the
// assets Hydrogen loads at run time (theme and fonts, olm worker, olm wasm,
// download sandbox, service worker), laid out as app/app.js expects.
//
//   node build.mjs OUT_DIR
//
// Run from the directory holding node_modules (NODE_PATH is not used by
// esbuild, so the cached install's node_modules is passed with --modules).
import {cp, mkdir} from "node:fs/promises";
import {dirname, join, resolve} from "node:path";
import {fileURLToPath} from "node:url";
import {parseArgs} from "node:util";

const {values, positionals} = parseArgs({
    options: {modules: {type: "string"}},
    allowPositionals: true,
});
if (positionals.length !== 1) {
    console.error("usage: node build.mjs [--modules NODE_MODULES] OUT_DIR");
    process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const modules = resolve(values.modules ?? join(here, "node_modules"));
const out = resolve(positionals[0]);
const {build} = await import(join(modules, "esbuild", "lib", "main.js"));

await mkdir(join(out, "olm"), {recursive: true});
await build({
    entryPoints: [join(here, "app", "app.js")],
    outfile: join(out, "app.js"),
    bundle: true,
    format: "esm",
    target: "es2020",
    nodePaths: [modules],
    // The SDK imports olm.js (as its Vite build does); olm.js requires these
    // only on its Node.js branch, never taken in a browser.
    external: ["crypto", "fs", "path"],
    logLevel: "warning",
});
const sdk = join(modules, "hydrogen-view-sdk");
const olm = join(modules, "@matrix-org", "olm");
await Promise.all([
    cp(join(here, "app", "index.html"), join(out, "index.html")),
    cp(join(sdk, "asset-build", "assets"), join(out, "assets"), {recursive: true}),
    cp(join(sdk, "lib-build", "sw.js"), join(out, "sw.js")),
    ...["olm.js", "olm.wasm", "olm_legacy.js"].map((name) =>
        cp(join(olm, name), join(out, "olm", name)),
    ),
]);
console.log(`built Hydrogen into ${out}`);
