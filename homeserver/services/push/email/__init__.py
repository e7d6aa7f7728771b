"""Email pushers (kind ``email``): a digest of missed messages after a
delay, throttled per room, with an unsubscribe link (docs/push.md, "Email
notifications")."""
