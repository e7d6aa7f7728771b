"""Reading rooms: single events, state, members, /messages and /context, with history visibility and event serialisation."""
