"""Federation: talking to other homeservers.

- ``errors``, ``interfaces``: the seams between the pieces.
- ``auth``: the X-Matrix request signature (pure).
- ``edu``: inbound EDU dispatch.
"""
