"""Writing homeserver.yaml safely: atomically, privately, keeping its header."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import yaml


def leading_comments(path: Path) -> str:
    """The comment block at the top of a YAML file ('' when none or no file).

    PyYAML drops comments when it rewrites a file; ``config set`` keeps at least
    the header that ``synctl init`` wrote.
    """
    try:
        lines = path.read_text().splitlines(keepends=True)
    except OSError:
        return ""
    header = []
    for line in lines:
        if not line.startswith("#") and line.strip():
            break
        header.append(line)
    return "".join(header)


def dump_yaml(data: Any) -> str:
    """YAML text for ``data``, in the order given (block style)."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def write_text_atomically(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` in one step, so readers never see half a file.

    Args:
        path: the file to write.
        text: its new contents.
        mode: permissions for a new file; an existing file keeps its own. The
            default is private, as homeserver.yaml holds secrets.
    """
    with contextlib.suppress(FileNotFoundError):
        mode = stat.S_IMODE(path.stat().st_mode)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
