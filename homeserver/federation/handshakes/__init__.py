"""The membership handshakes: joins, leaves, knocks and invites, on the resident server's side and on the joining server's."""
