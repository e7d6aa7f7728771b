// The smallest scenario: log in as a new device, start Rust crypto (which
// uploads the device's identity and one-time keys) and sync once.
//
//   node login.mjs COMMON_ARGS

import { login, main, sdk, step, until } from "./lib.mjs";

await main({}, async (args) => {
  const client = await step("login", () => login(args, { deviceName: "js-sdk smoke" }));
  const crypto = client.getCrypto();
  const userId = client.getUserId();
  const deviceId = client.getDeviceId();
  // The SDK uploads the device keys from its outgoing-requests loop, in the
  // background: wait until the server hands them out.
  await step("wait for the device keys on the server", () =>
    until("/keys/query has this device", async () => {
      const answer = await client.http.authedRequest(sdk.Method.Post, "/keys/query", undefined, {
        device_keys: { [userId]: [deviceId] },
      });
      return answer.device_keys?.[userId]?.[deviceId];
    }),
  );
  return {
    user_id: userId,
    device_id: deviceId,
    crypto_version: crypto.getVersion(),
    device_keys: await crypto.getOwnDeviceKeys(),
  };
});
