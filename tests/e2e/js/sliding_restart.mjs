// matrix-js-sdk's sliding sync across a server restart. Connections live in
// the server's memory, so after a restart the SDK's pos is unknown: it is told
// M_UNKNOWN_POS, starts a new connection by itself and goes on.
//
//   node sliding_restart.mjs COMMON_ARGS --bob-token TOKEN --room ROOM_ID
//        --ready FILE --restarted FILE
//
// Once the SDK has its first answer the script writes --ready and waits for the
// test to restart the server and write --restarted; then it waits for the SDK
// to start afresh and for Bob's message, sent after the restart.

import { existsSync, writeFileSync } from "node:fs";

import { main, sdk, step, until } from "./lib.mjs";
import { exchanges, hasEvent, loginRecorded, send, slidingSyncFor } from "./sliding_lib.mjs";

await main(
  {
    "bob-token": { type: "string" },
    room: { type: "string" },
    ready: { type: "string" },
    restarted: { type: "string" },
  },
  async (args) => {
    const out = {};
    const client = await step("log in", () => loginRecorded(args));
    const { slidingSync, lifecycle } = slidingSyncFor(client, args.homeserver);
    await step("first sliding sync", async () => {
      await client.startClient({ slidingSync });
      await until("the SDK has the room", () => client.getRoom(args.room), client, [sdk.ClientEvent.Room]);
    });
    // The SDK may be back on the restarted server before the test says so.
    const readyAt = exchanges.length;
    await step("the test restarts the server", async () => {
      out.ready_at = readyAt;
      writeFileSync(args.ready, "ready\n");
      await until("the server was restarted", () => existsSync(args.restarted));
    });
    await step("the SDK is told M_UNKNOWN_POS and starts afresh", async () => {
      await until("an answer without pos after the restart", () =>
        exchanges.slice(readyAt).some((e) => e.status === 200 && e.pos === null),
      );
    });
    await step("bob's message after the restart", async () => {
      out.event_id = await send(args, args["bob-token"], args.room, "after the restart");
      await until("the SDK has it", () => hasEvent(client, args.room, out.event_id), client, [
        sdk.RoomEvent.Timeline,
      ]);
    });
    // Every exchange, without bodies.
    out.exchanges = exchanges.map((e) => ({
      pos: e.pos,
      status: e.status ?? null,
      errcode: e.answer?.errcode ?? null,
      answer_pos: e.answer?.pos ?? null,
      failed: Boolean(e.failed),
      initial_rooms: Object.entries(e.answer?.rooms ?? {})
        .filter(([, room]) => room.initial)
        .map(([roomId]) => roomId),
    }));
    out.lifecycle_errors = lifecycle;
    return out;
  },
);
