"""Chatly's webhooks bridge, an application service.

- Incoming: ``POST {public_url}/hooks/{token}`` with ``{"text", "username",
  "html", "msgtype"}`` posts into the token's room. Tokens come from the bot
  command ``!webhook new`` in the room or ``chatly-webhooks-bridge create-hook``.
- Outgoing: each message of a configured room is POSTed as JSON to a URL,
  signed with HMAC-SHA256 (``X-Chatly-Signature: sha256=<hex>``), with retries.
"""
