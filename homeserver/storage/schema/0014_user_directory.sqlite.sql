-- The user directory (POST /user_directory/search). Local users are searched
-- in users + profiles directly; other servers' users are known from their
-- member events. Who may find whom is read from current_state_events (rooms
-- shared with the searcher) and the public rooms below.

-- Other servers' users: the display name and avatar of their latest join.
CREATE TABLE user_directory_remote (
    user_id TEXT PRIMARY KEY,
    display_name TEXT,
    avatar_url TEXT
);

-- Rooms whose members anyone may find: join rule public or history
-- world_readable (as Synapse's users_in_public_rooms).
CREATE TABLE user_directory_public_rooms (
    room_id TEXT PRIMARY KEY
);

INSERT OR IGNORE INTO user_directory_public_rooms (room_id)
SELECT c.room_id FROM current_state_events c JOIN events e ON e.event_id = c.event_id
WHERE c.state_key = '' AND (
    (c.type = 'm.room.join_rules'
     AND json_extract(e.json, '$.content.join_rule') = 'public')
    OR (c.type = 'm.room.history_visibility'
     AND json_extract(e.json, '$.content.history_visibility') = 'world_readable'));

INSERT OR IGNORE INTO user_directory_remote (user_id, display_name, avatar_url)
SELECT c.state_key,
    CASE WHEN json_type(e.json, '$.content.displayname') = 'text'
         THEN json_extract(e.json, '$.content.displayname') END,
    CASE WHEN json_type(e.json, '$.content.avatar_url') = 'text'
         THEN json_extract(e.json, '$.content.avatar_url') END
FROM current_state_events c JOIN events e ON e.event_id = c.event_id
WHERE c.type = 'm.room.member' AND c.membership = 'join'
    AND c.state_key NOT IN (SELECT user_id FROM users);
