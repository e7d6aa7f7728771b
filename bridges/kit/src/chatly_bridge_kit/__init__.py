"""Application Service plumbing shared by Chatly's bridges.

- :mod:`registration`: generate and load AS registration YAML files;
- :mod:`appservice`: the homeserver-facing HTTP endpoints (spec v1.19,
  "Application Service API": transactions, user and room alias queries, ping);
- :mod:`matrix`: a small client-server API client that authenticates with the
  ``as_token`` and masquerades with ``user_id=``;
- :mod:`state`: the bridge's own SQLite file (seen transactions, key-value).
"""
