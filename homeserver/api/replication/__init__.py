"""The internal replication API of worker deployments: ``/_chatly/replication``.

Spoken only between the processes of one deployment (never routed by the
generated proxy config), authenticated by the shared secret
(``workers.replication_secret_path``). ``resource.py`` holds the auth and the
list of endpoints; each endpoint lives in a file of its own.
"""
