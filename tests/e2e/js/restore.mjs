// A new device of a user (fresh login, fresh in-memory crypto store) recovers
// with the recovery key: it imports the cross-signing keys from secret storage
// (signing itself), loads the backup key from secret storage and restores the
// key backup, then decrypts messages that an earlier device sent.
//
//   node restore.mjs COMMON_ARGS --recovery-key KEY --room-id ID --event-ids ID,ID,...

import { fetchAndDecrypt, login, main, step } from "./lib.mjs";

await main(
  {
    "recovery-key": { type: "string" },
    "room-id": { type: "string" },
    "event-ids": { type: "string" },
  },
  async (args) => {
    const roomId = args["room-id"];
    const eventIds = args["event-ids"].split(",");
    const client = await step("login", () =>
      login(args, { deviceName: "js-sdk new device", recoveryKey: args["recovery-key"] }),
    );
    const crypto = client.getCrypto();
    const decryptAll = () =>
      Promise.all(eventIds.map((eventId) => fetchAndDecrypt(client, roomId, eventId)));

    const before = await step("decrypt before restoring", decryptAll);
    // Fetch our own cross-signing identity first, as apps do: importing the
    // private keys from secret storage needs the public keys they belong to.
    const hasKeys = await step("userHasCrossSigningKeys", () =>
      crypto.userHasCrossSigningKeys(client.getUserId(), true),
    );
    if (!hasKeys) throw new Error("/keys/query shows no cross-signing keys for this user");
    await step("bootstrapCrossSigning from secret storage", () => crypto.bootstrapCrossSigning({}));
    await step("loadSessionBackupPrivateKeyFromSecretStorage", () =>
      crypto.loadSessionBackupPrivateKeyFromSecretStorage(),
    );
    const check = await step("checkKeyBackupAndEnable", () => crypto.checkKeyBackupAndEnable());
    const restored = await step("restoreKeyBackup", () => crypto.restoreKeyBackup());
    const after = await step("decrypt after restoring", decryptAll);
    return {
      user_id: client.getUserId(),
      device_id: client.getDeviceId(),
      before,
      after,
      restored,
      backup_version: check?.backupInfo?.version ?? null,
      backup_trust: check?.trustInfo ?? null,
      active_backup_version: await crypto.getActiveSessionBackupVersion(),
      cross_signing_ready: await crypto.isCrossSigningReady(),
      device_verification: await crypto.getDeviceVerificationStatus(
        client.getUserId(),
        client.getDeviceId(),
      ),
    };
  },
);
