// Hydrogen's web entry point (hydrogen-web src/platform/web/main.js and
// index.html) on the classes the hydrogen-view-sdk package exports: the root
// view model shows Hydrogen's own login screen, session loader, room list,
// timeline and composer. Nothing here replaces a part of its UI.
import {
    FeatureSet,
    Platform,
    RootViewModel,
    createNavigation,
    createRouter,
} from "hydrogen-view-sdk";

// Where build.mjs puts the SDK's and olm's assets next to index.html.
const assetPaths = {
    downloadSandbox: "assets/download-sandbox.html",
    worker: "assets/main.js",
    serviceWorker: "sw.js",
    olm: {
        wasm: "olm/olm.wasm",
        legacyBundle: "olm/olm_legacy.js",
        wasmBundle: "olm/olm.js",
    },
};

// No default homeserver: the user types it into the login screen.
const config = {defaultHomeServer: ""};

async function main() {
    const platform = new Platform({
        container: document.body,
        assetPaths,
        config,
        options: {development: false},
    });
    await platform.init();
    const features = await FeatureSet.load(platform.settingsStorage);
    const navigation = createNavigation();
    platform.setNavigation(navigation);
    const urlRouter = createRouter({navigation, history: platform.history});
    urlRouter.attach();
    const vm = new RootViewModel({platform, urlRouter, navigation, features});
    await vm.load();
    platform.createAndMountRootView(vm);
}

main().catch((err) => {
    console.error(`hydrogen failed to start: ${err.message}\n${err.stack}`);
    document.body.dataset.startError = err.message;
});
