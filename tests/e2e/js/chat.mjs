// An encrypted conversation with another client: create an encrypted room,
// invite the peer, wait for them to join, send a message, and wait for the
// peer's encrypted reply to arrive and decrypt.
//
//   node chat.mjs COMMON_ARGS --peer @bob:server --say TEXT --expect TEXT [--sliding]
//
// With --sliding the client syncs with simplified sliding sync (MSC4186), so
// room keys and device lists reach its crypto through the to_device and e2ee
// extensions.

import { createEncryptedRoom, describeEvent, login, main, sdk, step, until, usesSlidingSync } from "./lib.mjs";

await main(
  {
    peer: { type: "string" },
    say: { type: "string" },
    expect: { type: "string" },
    sliding: { type: "boolean", default: false },
  },
  async (args) => {
    const client = await step("login", () => login(args, { deviceName: "js-sdk chat", sliding: args.sliding }));
    const roomId = await step("createEncryptedRoom", () => createEncryptedRoom(client, [args.peer]));
    const room = client.getRoom(roomId);
    await step("wait for the peer to join", () =>
      until(
        `${args.peer} has joined`,
        () => room.getMember(args.peer)?.membership === "join",
        client,
        [sdk.RoomMemberEvent.Membership],
      ),
    );
    const sent = await step("send", () =>
      client.sendMessage(roomId, { msgtype: "m.text", body: args.say }),
    );
    const received = await step("wait for the peer's reply", () =>
      until(
        `an encrypted message from ${args.peer} decrypts to ${JSON.stringify(args.expect)}`,
        () => {
          const replies = room
            .getLiveTimeline()
            .getEvents()
            .filter((event) => event.getSender() === args.peer && event.isEncrypted())
            .map(describeEvent);
          return replies.find((reply) => reply.decrypted && reply.body === args.expect);
        },
        client,
        [sdk.MatrixEventEvent.Decrypted, sdk.RoomEvent.Timeline],
      ),
    );
    return {
      user_id: client.getUserId(),
      device_id: client.getDeviceId(),
      sliding: usesSlidingSync(client),
      room_id: roomId,
      sent: { event_id: sent.event_id, body: args.say },
      received,
    };
  },
);
