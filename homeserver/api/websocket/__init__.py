"""The WebSocket client transport (docs/websocket.md).

``resource.with_websocket`` mounts it on a client listener; ``protocol`` is the
autobahn adapter, ``session`` the protocol logic, ``flow`` the send-side flow
control, ``requests`` the client API over the socket, ``messages`` the grammar.
"""
