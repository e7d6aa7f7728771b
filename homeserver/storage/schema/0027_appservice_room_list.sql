-- Application services' published room directories (AS API, "Published room
-- directories"): PUT /directory/list/appservice/{networkId}/{roomId} with
-- visibility public adds a row, private removes it. /publicRooms lists these
-- rooms for third_party_instance_id "{appservice_id}|{network_id}", or with
-- include_all_networks.
CREATE TABLE appservice_room_list (
    appservice_id TEXT NOT NULL,
    network_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    PRIMARY KEY (appservice_id, network_id, room_id)
);
CREATE INDEX appservice_room_list_room ON appservice_room_list (room_id);
