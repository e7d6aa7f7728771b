// Publishing an address on an identity server as Element Web does, through
// matrix-js-sdk's own calls: the identity server mails a code
// (requestEmailToken), the code goes to its submitToken, the homeserver binds
// the address (bindThreePid). Another user's invite by that address
// (inviteByEmail) is then an ordinary invite; after unbindThreePid the same
// invite is a third-party invite. The test reads the code from the identity
// server and writes it to CODE_DIR/bind.
//
//   node bind.mjs COMMON_ARGS --email ADDRESS --code-dir DIR
//     --identity-server URL --identity-token TOKEN
//     --inviter @alice:server --inviter-password PW

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { main, sdk, step, until } from "./lib.mjs";

const OPTIONS = {
  email: { type: "string" },
  "code-dir": { type: "string" },
  "identity-server": { type: "string" },
  "identity-token": { type: "string" },
  inviter: { type: "string" },
  "inviter-password": { type: "string" },
};

async function client(args, user, password) {
  const anonymous = sdk.createClient({ baseUrl: args.homeserver });
  const login = await step(`log in as ${user}`, () =>
    anonymous.loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user },
      password,
    }),
  );
  return sdk.createClient({
    baseUrl: args.homeserver,
    idBaseUrl: args["identity-server"],
    identityServer: { getAccessToken: async () => args["identity-token"] },
    accessToken: login.access_token,
    userId: login.user_id,
    deviceId: login.device_id,
  });
}

async function membership(client, roomId, userId) {
  try {
    const content = await client.getStateEvent(roomId, "m.room.member", userId);
    return content.membership;
  } catch (error) {
    if (error instanceof sdk.MatrixError && error.httpStatus === 404) return null;
    throw error;
  }
}

await main(OPTIONS, async (args) => {
  const bob = await client(args, args.user, args.password);
  const alice = await client(args, args.inviter, args["inviter-password"]);
  const token = args["identity-token"];
  const secret = `bind${Date.now()}`;

  const session = await step("ask the identity server for a code", () =>
    bob.requestEmailToken(args.email, secret, 1, undefined, token),
  );
  const path = join(args["code-dir"], "bind");
  const code = await step("wait for the code", () =>
    until("the test wrote the code", () =>
      existsSync(path) ? readFileSync(path, "utf8").trim() : null,
    ),
  );
  const submitted = await step("submit the code to the identity server", () =>
    bob.http.idServerRequest(
      sdk.Method.Post,
      "/validate/email/submitToken",
      { sid: session.sid, client_secret: secret, token: code },
      sdk.IdentityPrefix.V2,
      token,
    ),
  );
  const bound = await step("bind the address through the homeserver", () =>
    bob.bindThreePid({
      sid: session.sid,
      client_secret: secret,
      id_server: bob.getIdentityServerUrl(true),
      id_access_token: token,
    }),
  );

  const { room_id: first } = await step("create a room", () => alice.createRoom({}));
  await step("invite by email (bound)", () => alice.inviteByEmail(first, args.email));
  const firstMembership = await membership(alice, first, bob.getUserId());

  const unbound = await step("unbind the address", () =>
    bob.unbindThreePid("email", args.email),
  );
  const { room_id: second } = await step("create another room", () =>
    alice.createRoom({}),
  );
  await step("invite by email (unbound)", () => alice.inviteByEmail(second, args.email));
  const secondMembership = await membership(alice, second, bob.getUserId());
  const state = await step("read the room's state", () => alice.roomState(second));
  const thirdParty = state.filter((e) => e.type === "m.room.third_party_invite");
  return {
    submitted,
    bound,
    first_membership: firstMembership,
    unbound,
    second_membership: secondMembership,
    third_party_invites: thirdParty.map((e) => e.content.display_name),
  };
});
