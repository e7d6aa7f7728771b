// Shared helpers of the js-sdk scripts: arguments, the result file, a deadline,
// logging in with Rust crypto, waiting for sync, and answering UIA.
//
// Every script is run by tests/e2e/js_peer.py as
//   node SCRIPT --homeserver URL --user @u:server --password PW --result FILE [...]
// and writes one JSON object to FILE: {"ok": true, ...} on success, or
// {"ok": false, "error": "...", "step": "..."} before exiting non-zero. The
// result goes to a file, not stdout, because the SDK's own logger writes to
// stdout; our log lines and the SDK's warnings go to stderr.

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

import * as sdk from "matrix-js-sdk";
import * as cryptoApi from "matrix-js-sdk/lib/crypto-api/index.js";
import { logger as globalLogger } from "matrix-js-sdk/lib/logger.js";
import { RustBackupManager } from "matrix-js-sdk/lib/rust-crypto/backup.js";
import { SlidingSync } from "matrix-js-sdk/lib/sliding-sync.js";
import { SlidingSyncSdk } from "matrix-js-sdk/lib/sliding-sync-sdk.js";

export { cryptoApi, sdk };

const LEVELS = ["trace", "debug", "info", "warn", "error"];
const LOG_LEVEL = process.env.CHATLY_JS_LOG || "warn";
globalLogger.setLevel(LOG_LEVEL);

// The SDK waits up to 10 s (at random) before each key-backup upload loop so that
// a user's clients do not all upload at once; its docs say tests may shorten it.
RustBackupManager.maxBackupLoopStartDelayMillis = 50;

const COMMON_OPTIONS = {
  homeserver: { type: "string" },
  user: { type: "string" },
  password: { type: "string" },
  result: { type: "string" },
  timeout: { type: "string", default: "60" },
};

const started = Date.now();
let currentStep = "start";
const steps = [];
const clients = [];
// Server endpoints the SDK needed but the server did not serve, and what the
// script did instead (see withPushRulesFallback); reported in the result so a
// test can insist there are none.
const serverGaps = [];

/** A logger for a MatrixClient that writes to stderr, filtered by CHATLY_JS_LOG. */
function stderrLogger(prefix) {
  const min = LEVELS.indexOf(LOG_LEVEL);
  const method = (level) => (...msg) => {
    if (LEVELS.indexOf(level) >= min) {
      // One line per error: the SDK logs whole MatrixErrors, headers and all.
      const parts = msg.map((part) => (part instanceof Error ? describe(part) : part));
      console.error(`${elapsed()} [${level}] ${prefix}`, ...parts);
    }
  };
  const logger = Object.fromEntries(LEVELS.map((level) => [level, method(level)]));
  logger.getChild = (namespace) => stderrLogger(`${prefix}${namespace}`);
  return logger;
}

function elapsed() {
  return `${((Date.now() - started) / 1000).toFixed(2)}s`;
}

/** Log a line to stderr (the test shows it when the script fails). */
export function log(...msg) {
  console.error(`${elapsed()} [script]`, ...msg);
}

/** Run ``fn`` as the named step: a failure names the step, and its time is kept. */
export async function step(name, fn) {
  currentStep = name;
  const t0 = Date.now();
  log(`step: ${name}`);
  const value = await fn();
  steps.push({ name, seconds: (Date.now() - t0) / 1000 });
  return value;
}

function describe(error) {
  if (error instanceof sdk.MatrixError) {
    return `${error.httpStatus} ${JSON.stringify(error.data)} from ${error.url}`;
  }
  if (LOG_LEVEL === "debug" || LOG_LEVEL === "trace") return error?.stack || String(error);
  return String(error);
}

function finish(resultPath, result, code) {
  if (resultPath) {
    writeFileSync(resultPath, JSON.stringify(result, null, 1));
  }
  for (const client of clients) {
    client.stopClient();
  }
  process.exit(code);
}

/**
 * Parse the arguments, arm the deadline, run ``body(args)`` and write its result.
 *
 * @param {object} options - parseArgs options beyond the common ones.
 * @param {(args: object) => Promise<object>} body - the scenario.
 */
export async function main(options, body) {
  let args;
  try {
    ({ values: args } = parseArgs({ options: { ...COMMON_OPTIONS, ...options } }));
    for (const name of ["homeserver", "user", "password", "result"]) {
      if (!args[name]) throw new Error(`--${name} is required`);
    }
  } catch (error) {
    console.error(`usage error: ${error.message}`);
    process.exit(2);
  }
  const seconds = Number(args.timeout);
  setTimeout(() => {
    const error = `timed out after ${seconds}s in step "${currentStep}"`;
    log(error);
    finish(args.result, { ok: false, error, step: currentStep, server_gaps: serverGaps, steps }, 3);
  }, seconds * 1000);
  try {
    const result = await body(args);
    const seconds = (Date.now() - started) / 1000;
    finish(args.result, { ok: true, ...result, server_gaps: serverGaps, steps, seconds }, 0);
  } catch (error) {
    const message = describe(error);
    log(`FAILED in step "${currentStep}": ${message}`);
    if (!(error instanceof sdk.MatrixError)) log(error?.stack);
    const result = { ok: false, error: message, step: currentStep, server_gaps: serverGaps, steps };
    finish(args.result, result, 1);
  }
}

/**
 * Log in with the password (a new device), build a client with Rust crypto in
 * memory (so every run is a fresh crypto store), start it and wait for its
 * first sync.
 *
 * @param {object} args - the parsed arguments (homeserver, user, password).
 * @param {object} opts
 * @param {string} opts.deviceName - display name of the new device.
 * @param {string} [opts.recoveryKey] - answers secret storage key requests.
 * @param {boolean} [opts.sliding] - sync with simplified sliding sync (MSC4186)
 *   as Element Web does, instead of /sync.
 */
export async function login(args, { deviceName, recoveryKey, sliding = false } = {}) {
  const anonymous = sdk.createClient({ baseUrl: args.homeserver, logger: stderrLogger("anon ") });
  const session = await anonymous.loginRequest({
    type: "m.login.password",
    identifier: { type: "m.id.user", user: args.user },
    password: args.password,
    initial_device_display_name: deviceName,
  });
  // Secret storage keys this client created or was given, by key ID.
  const secretKeys = new Map();
  const client = sdk.createClient({
    baseUrl: args.homeserver,
    userId: session.user_id,
    deviceId: session.device_id,
    accessToken: session.access_token,
    logger: stderrLogger(`${session.device_id} `),
    cryptoCallbacks: {
      cacheSecretStorageKey: (keyId, keyInfo, key) => secretKeys.set(keyId, key),
      getSecretStorageKey: async ({ keys }) => {
        for (const keyId of Object.keys(keys)) {
          if (secretKeys.has(keyId)) return [keyId, secretKeys.get(keyId)];
        }
        if (!recoveryKey) return null;
        const keyId = (await client.secretStorage.getDefaultKeyId()) ?? Object.keys(keys)[0];
        const key = cryptoApi.decodeRecoveryKey(recoveryKey);
        if (!(await client.secretStorage.checkKey(key, keys[keyId]))) {
          throw new Error(`the recovery key does not match secret storage key ${keyId}`);
        }
        secretKeys.set(keyId, key);
        return [keyId, key];
      },
    },
  });
  clients.push(client);
  withPushRulesFallback(client);
  await client.initRustCrypto({ useIndexedDB: false });
  await startAndSync(client, sliding);
  return client;
}

/**
 * The SDK will not start syncing until GET /pushrules/ succeeds (it retries for
 * ever). Push rules play no part in end-to-end encryption, so when the server
 * answers 404 the client goes on with an empty rule set, and the gap is
 * reported in the result (test_js_sdk.py has a test that insists on none).
 */
export function withPushRulesFallback(client) {
  const getPushRules = client.getPushRules.bind(client);
  client.getPushRules = async () => {
    try {
      return await getPushRules();
    } catch (error) {
      if (!(error instanceof sdk.MatrixError) || error.httpStatus !== 404) throw error;
      const gap = `GET /pushrules/: ${describe(error)}; went on with empty push rules`;
      if (!serverGaps.includes(gap)) serverGaps.push(gap);
      log(gap);
      const empty = { override: [], content: [], room: [], sender: [], underride: [] };
      return { global: empty };
    }
  };
}

/** Start the client and wait for its first successful sync. */
// The list a sliding-sync client keeps of every room (the scripts' accounts
// have few): the state a room list and encryption need, members lazily.
const SLIDING_LIST = {
  ranges: [[0, 99]],
  timeline_limit: 20,
  required_state: [
    ["m.room.create", ""],
    ["m.room.name", ""],
    ["m.room.encryption", ""],
    ["m.room.power_levels", ""],
    ["m.room.member", "$ME"],
    ["m.room.member", "$LAZY"],
  ],
};
const SLIDING_SUBSCRIPTION = { timeline_limit: 50, required_state: [["*", "*"]] };

/** Whether ``client`` syncs with sliding sync (see ``login``). */
export function usesSlidingSync(client) {
  return client.syncApi instanceof SlidingSyncSdk;
}

async function startAndSync(client, sliding = false) {
  let lastError = null;
  const synced = new Promise((resolve) => {
    client.on(sdk.ClientEvent.Sync, (state, _prev, data) => {
      if (state === sdk.SyncState.Prepared || state === sdk.SyncState.Syncing) resolve();
      if (state === sdk.SyncState.Error) {
        lastError = data?.error;
        log(`sync error: ${describe(lastError)}`);
      }
    });
  });
  if (sliding) {
    const slidingSync = new SlidingSync(
      client.baseUrl,
      new Map([["all", SLIDING_LIST]]),
      SLIDING_SUBSCRIPTION,
      client,
      10000,
    );
    await client.startClient({ slidingSync });
  } else {
    await client.startClient({ initialSyncLimit: 50, lazyLoadMembers: false });
  }
  await synced;
}

/**
 * Resolve when ``check()`` returns a truthy value, re-checking on each of the
 * client's events named in ``events`` and at least every 250 ms.
 */
export async function until(description, check, client = null, events = []) {
  log(`waiting until ${description}`);
  for (;;) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => {
      const timer = setTimeout(done, 250);
      function done() {
        clearTimeout(timer);
        for (const event of events) client.off(event, done);
        resolve();
      }
      for (const event of events) client.on(event, done);
    });
  }
}

/**
 * A UIA callback (``authUploadDeviceSigningKeys``) that answers the password
 * stage. It records in ``record.stages`` the flows the server offered, or
 * "none" when the first request went through without authentication.
 */
export function passwordAuth(args, record) {
  return async (makeRequest) => {
    try {
      await makeRequest(null);
      record.stages = "none";
      return;
    } catch (error) {
      if (!(error instanceof sdk.MatrixError) || error.httpStatus !== 401 || !error.data?.flows) {
        throw error;
      }
      record.stages = error.data.flows.map((flow) => flow.stages);
      await makeRequest({
        type: "m.login.password",
        identifier: { type: "m.id.user", user: args.user },
        password: args.password,
        session: error.data.session,
      });
    }
  };
}

/** An encrypted private room (megolm), inviting ``invite``; resolves to its ID once synced. */
export async function createEncryptedRoom(client, invite = []) {
  const { room_id: roomId } = await client.createRoom({
    preset: "private_chat",
    invite,
    initial_state: [
      {
        type: "m.room.encryption",
        state_key: "",
        content: { algorithm: "m.megolm.v1.aes-sha2" },
      },
    ],
  });
  const crypto = client.getCrypto();
  await until(
    `room ${roomId} is synced and encrypted`,
    async () => client.getRoom(roomId) && (await crypto.isEncryptionEnabledInRoom(roomId)),
    client,
    [sdk.ClientEvent.Room, sdk.RoomStateEvent.Events],
  );
  return roomId;
}

/**
 * Fetch an event by ID over HTTP and try to decrypt it.
 *
 * @returns {Promise<{event_id: string, type: string, encrypted: boolean,
 *   decrypted: boolean, body?: string, failure?: string}>}
 */
export async function fetchAndDecrypt(client, roomId, eventId) {
  const raw = await client.fetchRoomEvent(roomId, eventId);
  const event = new sdk.MatrixEvent(raw);
  await client.decryptEventIfNeeded(event);
  return describeEvent(event);
}

/** What a test needs to know about a (possibly encrypted) event. */
export function describeEvent(event) {
  const failed = event.isDecryptionFailure();
  return {
    event_id: event.getId(),
    sender: event.getSender(),
    type: event.getType(),
    encrypted: event.isEncrypted(),
    decrypted: event.isEncrypted() && !failed && event.getClearContent() !== null,
    body: failed ? undefined : event.getContent().body,
    failure: failed ? String(event.decryptionFailureReason) : undefined,
  };
}
