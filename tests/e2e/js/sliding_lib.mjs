// What the sliding-sync scripts (sliding.mjs, sliding_restart.mjs) share: a
// client logged in with a fetch that records every sliding-sync request and
// its answer, a SlidingSync as Element Web builds one, and helpers to
// describe what the SDK made of the answers.

import { sdk, withPushRulesFallback } from "./lib.mjs";
import { SlidingSync, SlidingSyncEvent, SlidingSyncState } from "matrix-js-sdk/lib/sliding-sync.js";

export const SLIDING_PATH = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync";
const LONG_POLL_MS = 2000;
// A two-room window: the tests' accounts have three rooms and more.
const LIST = {
  ranges: [[0, 1]],
  timeline_limit: 1,
  required_state: [
    ["m.room.name", ""],
    ["m.room.create", ""],
    ["m.room.member", "$LAZY"],
  ],
};
const SUBSCRIPTION = { timeline_limit: 10, required_state: [["*", "*"]] };

// Every sliding-sync exchange: {pos, body, status, answer}, or {pos, body,
// refused} while the test keeps the network away (network.offline), or {pos,
// body, failed} when the request could not be made (a server down).
export const exchanges = [];
export const network = { offline: false };

async function recordingFetch(resource, init) {
  const url = new URL(String(resource));
  if (!url.pathname.endsWith(SLIDING_PATH)) return fetch(resource, init);
  const exchange = { pos: url.searchParams.get("pos"), body: JSON.parse(init.body ?? "{}") };
  exchanges.push(exchange);
  if (network.offline) {
    exchange.refused = true;
    throw new TypeError("fetch failed (the test took the network away)");
  }
  let response;
  try {
    response = await fetch(resource, init);
  } catch (error) {
    exchange.failed = String(error);
    throw error;
  }
  exchange.status = response.status;
  exchange.answer = await response.clone().json();
  return response;
}

/** The exchanges the server answered. */
export function answered() {
  return exchanges.filter((e) => e.answer !== undefined);
}

/** Log in with the password (a new device); the client records its exchanges. */
export async function loginRecorded(args) {
  const anonymous = sdk.createClient({ baseUrl: args.homeserver });
  const session = await anonymous.loginRequest({
    type: "m.login.password",
    identifier: { type: "m.id.user", user: args.user },
    password: args.password,
    initial_device_display_name: "matrix-js-sdk sliding sync",
  });
  const client = sdk.createClient({
    baseUrl: args.homeserver,
    userId: session.user_id,
    deviceId: session.device_id,
    accessToken: session.access_token,
    fetchFn: recordingFetch,
  });
  withPushRulesFallback(client);
  return client;
}

/**
 * A SlidingSync with the one list ("recent"), and the errors its requests
 * met (``lifecycle``: {status, errcode}).
 */
export function slidingSyncFor(client, homeserver) {
  const lifecycle = [];
  const slidingSync = new SlidingSync(homeserver, new Map([["recent", LIST]]), SUBSCRIPTION, client, LONG_POLL_MS);
  slidingSync.on(SlidingSyncEvent.Lifecycle, (state, _resp, err) => {
    if (state === SlidingSyncState.RequestFinished && err) {
      lifecycle.push({ status: err.httpStatus, errcode: err.data?.errcode ?? err.errcode });
    }
  });
  return { slidingSync, lifecycle };
}

export function describeEvent(event) {
  return {
    event_id: event.getId(),
    type: event.getType(),
    sender: event.getSender(),
    body: event.getContent().body,
  };
}

export function describeRoom(room) {
  return {
    room_id: room.roomId,
    name: room.name,
    bump_stamp: room.getBumpStamp(),
    members: room.getJoinedMembers().map((m) => m.userId).sort(),
    timeline: room.getLiveTimeline().getEvents().map(describeEvent),
  };
}

/** The SDK's rooms as Element's room list orders them: latest bump first. */
export function roomList(client) {
  return client
    .getRooms()
    .sort((a, b) => (b.getBumpStamp() ?? 0) - (a.getBumpStamp() ?? 0))
    .map(describeRoom);
}

export function hasEvent(client, roomId, eventId) {
  const room = client.getRoom(roomId);
  return Boolean(room?.getLiveTimeline().getEvents().some((e) => e.getId() === eventId));
}

export async function bobRequest(args, method, path, body) {
  const response = await fetch(`${args.homeserver}/_matrix/client/v3${path}`, {
    method,
    headers: { Authorization: `Bearer ${args["bob-token"]}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`bob's ${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

export async function send(args, token, roomId, body) {
  const txn = `${Date.now()}-${Math.random()}`;
  const url = `${args.homeserver}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`;
  const response = await fetch(url, {
    method: "PUT",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ msgtype: "m.text", body }),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`sending to ${roomId}: ${response.status} ${JSON.stringify(answer)}`);
  return answer.event_id;
}
