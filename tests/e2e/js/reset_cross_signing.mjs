// Cross-signing set up, then replaced: the second upload of cross-signing keys
// must be authenticated, and the UIA callback answers the password stage.
//
//   node reset_cross_signing.mjs COMMON_ARGS

import { login, main, passwordAuth, sdk, step } from "./lib.mjs";

await main({}, async (args) => {
  const client = await step("login", () => login(args, { deviceName: "js-sdk reset" }));
  const crypto = client.getCrypto();
  const userId = client.getUserId();
  // The master key the server hands out (the SDK's own view of its public
  // identity lags behind a reset until it queries the server again).
  const masterKey = async () => {
    const answer = await client.http.authedRequest(sdk.Method.Post, "/keys/query", undefined, {
      device_keys: { [userId]: [] },
    });
    const master = answer.master_keys?.[userId];
    return master ? Object.values(master.keys)[0] : null;
  };

  const first = {};
  await step("bootstrapCrossSigning", () =>
    crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: passwordAuth(args, first) }),
  );
  const firstMaster = await masterKey();
  const second = {};
  await step("bootstrapCrossSigning with setupNewCrossSigning", () =>
    crypto.bootstrapCrossSigning({
      setupNewCrossSigning: true,
      authUploadDeviceSigningKeys: passwordAuth(args, second),
    }),
  );
  return {
    user_id: userId,
    device_id: client.getDeviceId(),
    first: { uia_stages: first.stages, master_key: firstMaster },
    second: { uia_stages: second.stages, master_key: await masterKey() },
  };
});
