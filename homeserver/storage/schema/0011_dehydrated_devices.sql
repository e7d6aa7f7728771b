-- Dehydrated devices (MSC3814): at most one per user, a device that receives
-- to-device messages while none of the user's clients is running. The device
-- itself is a row of `devices` (with keys like any other); this is its
-- encrypted pickle, opaque to the server.
CREATE TABLE dehydrated_devices (
    user_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    device_data TEXT NOT NULL
);
