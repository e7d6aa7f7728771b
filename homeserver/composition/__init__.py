"""The composition root: builds one homeserver from its config.

``core.py`` (what every domain shares), one module per domain with a bundle
whose ``build()`` takes keyword arguments only, ``federation.py`` (+ parts),
``bind.py`` (every connection between domains), ``homeserver.py`` (the build
order) and ``server.py`` (the built ``HomeServer``).
"""

from homeserver.composition.homeserver import build_homeserver
from homeserver.composition.server import HomeServer

__all__ = ["HomeServer", "build_homeserver"]
