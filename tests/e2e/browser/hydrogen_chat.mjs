// Drives Hydrogen in Debian's Chromium through playwright-core, as a new user
// would: open the app, type the homeserver, username and password into
// Hydrogen's own login screen, wait for the session to load, open the room,
// send a message, then wait until a reply (sent by the test over HTTP) shows in
// the timeline.
//
//   node hydrogen_chat.mjs --modules NODE_MODULES --app URL --homeserver URL \
//     --user NAME --password PW --room NAME --message TEXT --reply TEXT \
//     [--chromium /usr/bin/chromium] [--screenshot PNG] [--log FILE] \
//     [--timeout SECONDS]
//
// Prints one "step: ..." line per step (with the elapsed time) and "sent" once
// the server has accepted the message. Exits 0 once the reply is visible, 1
// with a message (and a screenshot, if asked for) on any failure or timeout,
// 2 on bad arguments. SIGTERM also takes the screenshot before exiting 1.
import {appendFileSync, mkdtempSync, rmSync, writeFileSync} from "node:fs";
import {createRequire} from "node:module";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {parseArgs} from "node:util";

const STEP_TIMEOUT_MS = 30_000;
// Flags Debian's Chromium needs here: root (no sandbox), no GPU, and nothing
// that phones home (this machine's network is closed; those calls fail slowly).
const CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

const {values: opts} = parseArgs({
    options: {
        modules: {type: "string"},
        app: {type: "string"},
        homeserver: {type: "string"},
        user: {type: "string"},
        password: {type: "string"},
        room: {type: "string"},
        message: {type: "string"},
        reply: {type: "string"},
        chromium: {type: "string", default: "/usr/bin/chromium"},
        screenshot: {type: "string"},
        log: {type: "string"},
        timeout: {type: "string", default: "90"},
    },
});
const required = ["modules", "app", "homeserver", "user", "password", "room", "message", "reply"];
const missing = required.filter((name) => !opts[name]);
if (missing.length) {
    console.error(`hydrogen_chat: missing --${missing.join(", --")}`);
    process.exit(2);
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const log = (line) => {
    if (opts.log) {
        appendFileSync(opts.log, `[${elapsed()}] ${line}\n`);
    }
};
if (opts.log) {
    writeFileSync(opts.log, "");
}

let page = null;
let context = null;
let failing = false;
const userDataDir = mkdtempSync(join(tmpdir(), "chatly-chromium-"));

async function fail(message) {
    if (failing) {
        return;
    }
    failing = true;
    console.error(`hydrogen_chat: FAILED after ${elapsed()}: ${message}`);
    log(`FAILED: ${message}`);
    if (page && opts.screenshot) {
        try {
            await page.screenshot({path: opts.screenshot, fullPage: true, timeout: 5_000});
            console.error(`hydrogen_chat: screenshot: ${opts.screenshot}`);
        } catch (err) {
            console.error(`hydrogen_chat: no screenshot: ${err.message}`);
        }
    }
    await shutdown();
    process.exit(1);
}

async function shutdown() {
    try {
        await context?.close();
    } catch {
        // The browser is going away either way.
    }
    rmSync(userDataDir, {recursive: true, force: true});
}

process.on("SIGTERM", () => void fail("stopped by SIGTERM (the test gave up)"));
const deadline = setTimeout(
    () => void fail(`gave up after --timeout ${opts.timeout}s`),
    Number(opts.timeout) * 1000,
);

async function step(name, fn) {
    console.log(`step: ${name} (${elapsed()})`);
    log(`step: ${name}`);
    try {
        return await fn();
    } catch (err) {
        throw new Error(`${name}: ${err.message.split("\n")[0]}`);
    }
}

// Everything the page says and every failed request, for the failure report.
function watch(page) {
    page.on("console", (msg) => log(`console.${msg.type()}: ${msg.text()}`));
    page.on("pageerror", (err) => log(`pageerror: ${err.message}`));
    page.on("requestfailed", (req) =>
        log(`requestfailed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`),
    );
    page.on("response", async (res) => {
        if (res.status() < 400) {
            return;
        }
        let body = "";
        try {
            body = (await res.text()).slice(0, 500);
        } catch {
            // The body may be gone by now.
        }
        log(`http ${res.status()}: ${res.request().method()} ${res.url()} ${body}`);
    });
}

// Hydrogen has loaded the session, or said why not.
async function sessionOutcome(page) {
    const loaded = page.locator(".SessionView");
    const loadError = page.locator(".SessionLoadStatusView", {hasText: "Something went wrong"});
    const loginError = page.locator(".PasswordLoginView .error, .LoginView_sso .error");
    await loaded.or(loadError).or(loginError).first().waitFor({timeout: STEP_TIMEOUT_MS});
    if (await loaded.count()) {
        return;
    }
    const shown = (await loadError.or(loginError).first().innerText()).trim();
    throw new Error(`Hydrogen shows: ${shown}`);
}

async function main() {
    const require = createRequire(join(opts.modules, "noop.js"));
    const {chromium} = require("playwright-core");
    context = await step("launch chromium", () =>
        chromium.launchPersistentContext(userDataDir, {
            executablePath: opts.chromium,
            headless: true,
            args: CHROMIUM_ARGS,
            // Our SIGTERM handler takes the screenshot, then closes the browser.
            handleSIGTERM: false,
            viewport: {width: 1200, height: 800},
        }),
    );
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    watch(page);

    await step("open the app", async () => {
        await page.goto(opts.app);
        await page.locator("#homeserver").waitFor();
    });
    await step("type the homeserver", async () => {
        await page.locator("#homeserver").fill(opts.homeserver);
        // Hydrogen queries the login flows a second after typing stops.
        await page.locator("#homeserver").press("Tab");
        const error = page.locator(".LoginView_sso .error");
        await page.locator("#username").or(error).first().waitFor();
        if (await error.count()) {
            throw new Error(`Hydrogen shows: ${await error.innerText()}`);
        }
    });
    await step("log in", async () => {
        await page.locator("#username").fill(opts.user);
        await page.locator("#password").fill(opts.password);
        await page.getByRole("button", {name: "Log In"}).click();
    });
    await step("wait for the session to load", () => sessionOutcome(page));
    await step(`open the room "${opts.room}"`, async () => {
        await page.locator(".RoomList li", {hasText: opts.room}).first().click();
        await page.locator(".MessageComposer_input textarea").waitFor();
    });
    await step("send the message", async () => {
        const input = page.locator(".MessageComposer_input textarea");
        await input.fill(opts.message);
        await input.press("Enter");
        // "unsent" goes once the server has answered the send with an event ID.
        await page
            .locator(".Timeline_message:not(.unsent)", {hasText: opts.message})
            .first()
            .waitFor();
    });
    console.log("sent");
    await step("wait for the reply", () =>
        page.locator(".Timeline_message", {hasText: opts.reply}).first().waitFor(),
    );
    console.log(`ok: the reply is on screen (${elapsed()})`);
}

try {
    await main();
    clearTimeout(deadline);
    await shutdown();
    process.exit(0);
} catch (err) {
    await fail(err.message);
}
