// A user's first device sets up cross-signing and secret storage (a recovery
// key derived from a passphrase), optionally with a new key backup, then
// optionally sends encrypted messages into a new encrypted room and waits until
// their room keys are in the backup on the server.
//
//   node bootstrap.mjs COMMON_ARGS --passphrase P [--backup] [--messages N]

import {
  createEncryptedRoom,
  cryptoApi,
  log,
  login,
  main,
  passwordAuth,
  sdk,
  step,
  until,
} from "./lib.mjs";

await main(
  {
    passphrase: { type: "string" },
    backup: { type: "boolean", default: false },
    messages: { type: "string", default: "0" },
  },
  async (args) => {
    const client = await step("login", () => login(args, { deviceName: "js-sdk first device" }));
    const crypto = client.getCrypto();
    const userId = client.getUserId();
    const deviceId = client.getDeviceId();

    const uia = {};
    await step("bootstrapCrossSigning", () =>
      crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: passwordAuth(args, uia) }),
    );
    const recoveryKey = await step("createRecoveryKeyFromPassphrase", () =>
      crypto.createRecoveryKeyFromPassphrase(args.passphrase),
    );
    await step("bootstrapSecretStorage", () =>
      crypto.bootstrapSecretStorage({
        createSecretStorageKey: async () => recoveryKey,
        setupNewSecretStorage: true,
        setupNewKeyBackup: args.backup,
      }),
    );

    const status = await step("status", async () => ({
      cross_signing_ready: await crypto.isCrossSigningReady(),
      secret_storage_ready: await crypto.isSecretStorageReady(),
      cross_signing_status: await crypto.getCrossSigningStatus(),
      master_key: await crypto.getCrossSigningKeyId(cryptoApi.CrossSigningKey.Master),
      self_signing_key: await crypto.getCrossSigningKeyId(cryptoApi.CrossSigningKey.SelfSigning),
      user_signing_key: await crypto.getCrossSigningKeyId(cryptoApi.CrossSigningKey.UserSigning),
      device_verification: await crypto.getDeviceVerificationStatus(userId, deviceId),
      default_key_id: await client.secretStorage.getDefaultKeyId(),
      backup_version: await crypto.getActiveSessionBackupVersion(),
    }));

    const result = {
      user_id: userId,
      device_id: deviceId,
      device_keys: await crypto.getOwnDeviceKeys(),
      uia_stages: uia.stages,
      recovery_key: recoveryKey.encodedPrivateKey,
      ...status,
    };
    const count = Number(args.messages);
    if (count > 0) {
      Object.assign(result, await sendAndBackUp(client, count, status.backup_version));
    }
    return result;
  },
);

/** Send ``count`` messages into a new encrypted room; wait for their keys in the backup. */
async function sendAndBackUp(client, count, backupVersion) {
  const roomId = await step("createEncryptedRoom", () => createEncryptedRoom(client));
  const sent = [];
  await step("send messages", async () => {
    for (let i = 0; i < count; i++) {
      const body = `secret message ${i} from js-sdk`;
      const { event_id: eventId } = await client.sendMessage(roomId, { msgtype: "m.text", body });
      sent.push({ event_id: eventId, body });
    }
  });
  let backedUp = null;
  if (backupVersion) {
    backedUp = await step("wait for the room keys in the backup", () =>
      until("the server's backup holds the room's sessions", async () => {
        const keys = await client.http.authedRequest(
          sdk.Method.Get,
          `/room_keys/keys/${encodeURIComponent(roomId)}`,
          { version: backupVersion },
        );
        const sessions = Object.keys(keys.sessions ?? {});
        if (sessions.length) log(`backup has sessions ${sessions.join(", ")}`);
        return sessions.length ? sessions : null;
      }),
    );
  }
  return { room_id: roomId, sent, backed_up_sessions: backedUp };
}
