// matrix-js-sdk's simplified sliding sync (MSC4186) as Element Web runs it:
// a SlidingSync with one list, handed to startClient({ slidingSync }).
//
//   node sliding.mjs --homeserver URL --user @alice:server --password PW --result FILE
//        --bob-token TOKEN --open ROOM_ID --away ROOM_ID --recover ROOM_ID
//
// Steps: log in (a new device); the first response lists a two-room window;
// open a room outside the window by room subscription; get Bob's message by
// long-poll; lose the network for a while (requests fail before reaching the
// server), and on reconnecting the SDK sends the same pos and gets only what
// changed; then another request on the same device and conn_id without pos
// makes the server drop the SDK's connection, the SDK is told M_UNKNOWN_POS,
// starts afresh by itself and still gets Bob's next message; last, Bob invites
// her to a direct chat, which she joins; and opening Alpha, which is in the
// list, by subscription grows its timeline in the SDK.
//
// Every sliding-sync request and its answer are recorded (by the fetch the
// SDK is given) and reported with what the SDK made of them (its rooms, their
// names, bump stamps and timelines).

import { log, main, sdk, step, until } from "./lib.mjs";
import {
  SLIDING_PATH,
  answered,
  bobRequest,
  describeRoom,
  exchanges,
  hasEvent,
  loginRecorded,
  network,
  roomList,
  send,
  slidingSyncFor,
} from "./sliding_lib.mjs";

const options = {
  "bob-token": { type: "string" },
  open: { type: "string" },
  away: { type: "string" },
  recover: { type: "string" },
  "account-data-type": { type: "string" },
};

await main(options, async (args) => {
  const out = {};
  const client = await step("log in", () => loginRecorded(args));
  out.device_id = client.getDeviceId();
  const { slidingSync, lifecycle } = slidingSyncFor(client, args.homeserver);
  const syncStates = [];
  client.on(sdk.ClientEvent.Sync, (state) => syncStates.push(state));

  await step("first sliding sync: the two most recent rooms", async () => {
    await client.startClient({ slidingSync });
    await until("the SDK has rooms", () => client.getRooms().length >= 2, client, [sdk.ClientEvent.Room]);
    out.first = answered()[0];
    out.first_rooms = roomList(client);
    out.account_data = await until(
      "alice's account data",
      () => client.getAccountData(args["account-data-type"])?.getContent(),
      client,
      [sdk.ClientEvent.AccountData],
    );
    out.push_rules_from_sync = Boolean(client.getAccountData("m.push_rules"));
  });

  await step("open a room by subscription", async () => {
    slidingSync.modifyRoomSubscriptions(new Set([args.open]));
    await until("the SDK has the opened room", () => client.getRoom(args.open), client, [sdk.ClientEvent.Room]);
    out.opened = answered().find((e) => e.answer.rooms?.[args.open]);
    out.opened_room = describeRoom(client.getRoom(args.open));
    await until("the opened room's tags", () => Object.keys(client.getRoom(args.open).tags).length, client, [
      sdk.RoomEvent.Tags,
    ]);
    out.opened_tags = client.getRoom(args.open).tags;
  });

  await step("long-poll gets bob's message", async () => {
    const eventId = await send(args, args["bob-token"], args.open, "live to the open room");
    out.live_event_id = eventId;
    await until("the message is in the SDK's timeline", () => hasEvent(client, args.open, eventId), client, [
      sdk.RoomEvent.Timeline,
    ]);
    out.live = answered().find((e) => JSON.stringify(e.answer).includes(eventId));
    out.after_live_rooms = roomList(client);
  });

  await step("bob's typing and read receipt reach the SDK", async () => {
    const room = client.getRoom(args.open);
    const bob = await bobRequest(args, "GET", "/account/whoami");
    out.bob = bob.user_id;
    await bobRequest(args, "PUT", `/rooms/${encodeURIComponent(args.open)}/typing/${encodeURIComponent(bob.user_id)}`, {
      typing: true,
      timeout: 30000,
    });
    await until("bob is typing", () => room.currentState.getMember(bob.user_id)?.typing, client, [
      sdk.RoomMemberEvent.Typing,
    ]);
    out.typing = answered().find((e) => e.answer.extensions?.typing?.rooms?.[args.open])?.answer.extensions.typing;
    const receiptPath = `/rooms/${encodeURIComponent(args.open)}/receipt/m.read/${encodeURIComponent(out.live_event_id)}`;
    await bobRequest(args, "POST", receiptPath, {});
    // Not a receipt the SDK makes up for the sender of an event: bob's own.
    await until(
      "bob's receipt",
      () => room.getReadReceiptForUserId(bob.user_id, true)?.eventId === out.live_event_id,
      client,
      [sdk.RoomEvent.Receipt],
    );
    out.receipts = answered().find((e) => e.answer.extensions?.receipts?.rooms?.[args.open])?.answer.extensions.receipts;
    await bobRequest(args, "PUT", `/rooms/${encodeURIComponent(args.open)}/typing/${encodeURIComponent(bob.user_id)}`, {
      typing: false,
    });
    await until("bob stopped typing", () => !room.currentState.getMember(bob.user_id)?.typing, client, [
      sdk.RoomMemberEvent.Typing,
    ]);
  });

  await step("the network goes away and comes back", async () => {
    network.offline = true;
    const before = exchanges.length;
    await until("a request fails", () => exchanges.slice(before).some((e) => e.refused));
    out.away_event_id = await send(args, args["bob-token"], args.away, "while you were away");
    const refusedAt = exchanges.length;
    network.offline = false;
    await until("the SDK has the message", () => hasEvent(client, args.away, out.away_event_id), client, [
      sdk.RoomEvent.Timeline,
    ]);
    out.refused = exchanges[refusedAt - 1];
    const firstRefused = exchanges.findIndex((e) => e.refused);
    out.answered_before = exchanges.slice(0, firstRefused).filter((e) => e.answer !== undefined).at(-1);
    out.reconnected = exchanges.slice(refusedAt).find((e) => e.answer !== undefined);
  });

  await step("the server drops the connection; the SDK recovers", async () => {
    const before = exchanges.length;
    const usurp = await fetch(`${args.homeserver}${SLIDING_PATH}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${client.getAccessToken()}`, "Content-Type": "application/json" },
      body: JSON.stringify({ lists: {} }),
    });
    if (!usurp.ok) throw new Error(`the usurping request failed: ${usurp.status}`);
    await until("the SDK is told its pos is unknown", () =>
      exchanges.slice(before).some((e) => e.status === 400),
    );
    const unknownAt = exchanges.findIndex((e, i) => i >= before && e.status === 400);
    out.unknown = exchanges[unknownAt];
    await until("the SDK has a new connection", () =>
      exchanges.slice(unknownAt + 1).some((e) => e.status === 200),
    );
    out.restarted = exchanges.slice(unknownAt + 1).find((e) => e.status === 200);
    out.recover_event_id = await send(args, args["bob-token"], args.recover, "after the SDK recovered");
    await until("the SDK has bob's next message", () => hasEvent(client, args.recover, out.recover_event_id), client, [
      sdk.RoomEvent.Timeline,
    ]);
    out.lifecycle_errors = lifecycle;
    out.sync_states = syncStates;
    out.final_rooms = roomList(client);
  });
  await step("bob invites alice to a direct chat; she joins", async () => {
    const { room_id: dm } = await bobRequest(args, "POST", "/createRoom", {
      preset: "trusted_private_chat",
      is_direct: true,
      invite: [client.getUserId()],
    });
    out.dm = dm;
    await until("the invite", () => client.getRoom(dm)?.getMyMembership() === "invite", client, [
      sdk.ClientEvent.Room,
      sdk.RoomEvent.MyMembership,
    ]);
    const invited = client.getRoom(dm);
    out.dm_invite = { inviter: invited.getDMInviter() ?? null, name: invited.name };
    out.dm_invite_answer = answered().find((e) => e.answer.rooms?.[dm])?.answer.rooms[dm];
    await client.joinRoom(dm);
    await until(
      "the joined room's name",
      () => client.getRoom(dm)?.getMyMembership() === "join" && client.getRoom(dm).name !== invited.roomId,
      client,
      [sdk.RoomEvent.MyMembership, sdk.RoomEvent.Name, sdk.RoomEvent.Timeline],
    );
    await until("bob in the joined room", () => client.getRoom(dm).getJoinedMemberCount() === 2, client, [
      sdk.RoomEvent.Timeline,
      sdk.RoomStateEvent.Members,
    ]);
    out.dm_joined = describeRoom(client.getRoom(dm));
    out.dm_joined_answer = answered()
      .filter((e) => e.answer.rooms?.[dm] && !e.answer.rooms[dm].membership)
      .at(0)?.answer.rooms[dm];
  });
  await step("open a listed room: its timeline grows", async () => {
    const alpha = args.recover;
    const before = exchanges.length;
    slidingSync.modifyRoomSubscriptions(new Set([args.open, alpha]));
    await until("an answer with the room", () =>
      exchanges.slice(before).find((e) => e.answer?.rooms?.[alpha]),
    );
    const exchange = exchanges.slice(before).find((e) => e.answer?.rooms?.[alpha]);
    const { timeline, ...fields } = exchange.answer.rooms[alpha];
    out.expanded_answer = { ...fields, timeline: timeline.map((e) => e.event_id) };
    out.expanded_room = describeRoom(client.getRoom(alpha));
  });
  client.stopClient();
  log(`${exchanges.length} sliding-sync requests`);
  return out;
});
