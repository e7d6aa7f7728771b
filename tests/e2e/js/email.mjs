// Email addresses as Element Web handles them, through matrix-js-sdk's own
// calls: add an address (requestAdd3pidEmailToken, the code POSTed to the
// answer's submit_url with submitMsisdnTokenOtherUrl, addThreePidOnly behind
// the password), list it (getThreePids), reset the forgotten password by
// email without an access token (requestPasswordEmailToken, setPassword with
// m.login.email.identity), then log in with the address (m.id.thirdparty).
// The test reads each code from the mail the server sent to its SMTP server
// and writes it to CODE_DIR/add and CODE_DIR/reset.
//
//   node email.mjs COMMON_ARGS --email ADDRESS --code-dir DIR --new-password PW

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { log, main, sdk, step, until } from "./lib.mjs";

const OPTIONS = {
  email: { type: "string" },
  "code-dir": { type: "string" },
  "new-password": { type: "string" },
};

function code(args, name) {
  const path = join(args["code-dir"], name);
  return until(`the test wrote the ${name} code`, () =>
    existsSync(path) ? readFileSync(path, "utf8").trim() : null,
  );
}

async function uiaSession(request) {
  try {
    await request();
  } catch (error) {
    if (error instanceof sdk.MatrixError && error.httpStatus === 401 && error.data?.session) {
      return { session: error.data.session, flows: error.data.flows };
    }
    throw error;
  }
  throw new Error("the first round was not a UIA 401");
}

await main(OPTIONS, async (args) => {
  const anonymous = sdk.createClient({ baseUrl: args.homeserver });
  const login = await step("log in", () =>
    anonymous.loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: args.user },
      password: args.password,
    }),
  );
  const client = sdk.createClient({
    baseUrl: args.homeserver,
    accessToken: login.access_token,
    userId: login.user_id,
    deviceId: login.device_id,
  });

  const addSecret = `add${Date.now()}`;
  const add = await step("ask for a code to add the address", () =>
    client.requestAdd3pidEmailToken(args.email, addSecret, 1),
  );
  const addCode = await step("wait for the add code", () => code(args, "add"));
  const submitted = await step("submit the code", () =>
    client.submitMsisdnTokenOtherUrl(add.submit_url, add.sid, addSecret, addCode),
  );
  const body = { sid: add.sid, client_secret: addSecret };
  const uia = await step("first round of /account/3pid/add", () =>
    uiaSession(() => client.addThreePidOnly(body)),
  );
  await step("add the address behind the password", () =>
    client.addThreePidOnly({
      ...body,
      auth: {
        type: "m.login.password",
        session: uia.session,
        identifier: { type: "m.id.user", user: login.user_id },
        password: args.password,
      },
    }),
  );
  const { threepids } = await step("list the addresses", () => client.getThreePids());

  const resetSecret = `reset${Date.now()}`;
  const reset = await step("ask for a password reset code", () =>
    anonymous.requestPasswordEmailToken(args.email, resetSecret, 1),
  );
  const resetCode = await step("wait for the reset code", () => code(args, "reset"));
  await step("submit the reset code", () =>
    anonymous.submitMsisdnTokenOtherUrl(reset.submit_url, reset.sid, resetSecret, resetCode),
  );
  const creds = { sid: reset.sid, client_secret: resetSecret };
  await step("set the new password without an access token", () =>
    anonymous.setPassword(
      { type: "m.login.email.identity", threepid_creds: creds, threepidCreds: creds },
      args["new-password"],
      true,
    ),
  );
  let oldTokenError = null;
  try {
    await client.whoami();
  } catch (error) {
    oldTokenError = error.errcode ?? String(error);
  }
  const relogin = await step("log in with the address and the new password", () =>
    anonymous.loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.thirdparty", medium: "email", address: args.email },
      password: args["new-password"],
    }),
  );
  log(`logged in again as ${relogin.user_id}`);
  return {
    submit_url: add.submit_url,
    submitted,
    add_flows: uia.flows,
    threepids,
    old_token_error: oldTokenError,
    relogin_user_id: relogin.user_id,
  };
});
