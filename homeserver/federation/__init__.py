"""Federation: the wing for other homeservers, above ``homeserver.services``.

- ``transport/``: the signed HTTPS client, discovery, X-Matrix authentication.
- ``keys/``: server signing keys, the key ring and the notary.
- ``ingest/``: inbound transactions, the remote event pipeline, backfill.
- ``handshakes/``: joins, leaves, knocks and invites, both sides.
- ``serving/``: events, state and queries we serve to other servers.
- ``sender/``: per-destination queues of outbound transactions.
- ``edus/``: EDUs in both directions.
- ``errors``, ``interfaces``, ``acl``: the seams between the pieces.
"""
