"""Pushers: the pool that runs one runner per stored pusher, the kinds it
knows (``http`` here; ``email`` registered by the mailer), and the
``/pushers`` service (docs/push.md, "Pushers")."""
