"""A worker instance as ``workers.instances`` declares one, for plan tests."""

from __future__ import annotations

import attrs


@attrs.frozen
class Instance:
    """name, role, port and bind address of one worker."""

    name: str
    role: str
    port: int
    bind_address: str = "127.0.0.1"
