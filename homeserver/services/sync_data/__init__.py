"""The non-event streams /sync serves: account data and tags, receipts and read markers, typing, to-device messages."""
