"""``synctl threepid``: an admin adds, lists and removes a user's email
addresses (validated at once), in the data directory's database."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from twisted.internet import defer

from homeserver.cli import main
from homeserver.storage.database import Database, inline_runner
from homeserver.storage.engines import SqliteEngine
from homeserver.storage.migrations import prepare_database
from homeserver.storage.stores.threepids import ThreepidStore
from homeserver.storage.stores.users import UserStore


def _run(coro: object) -> object:
    results: list[object] = []
    defer.ensureDeferred(coro).addBoth(results.append)  # type: ignore[arg-type]
    return results[0]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "homeserver.yaml").write_text(
        yaml.safe_dump({"server": {"server_name": "example.com"}})
    )
    db = Database(SqliteEngine(str(tmp_path / "homeserver.db")), inline_runner)
    _run(prepare_database(db))
    _run(UserStore(db).insert_user("@alice:example.com", None, 0))
    _run(UserStore(db).insert_user("@bob:example.com", None, 0))
    return tmp_path


def synctl(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_remove(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = ["--data-dir", str(data_dir)]
    code, out, _ = synctl(
        capsys, "threepid", "add", "@alice:example.com", "Alice@Example.ORG", *d
    )
    assert code == 0, out
    code, out, _ = synctl(capsys, "threepid", "list", "@alice:example.com", *d)
    assert (code, out) == (0, "email\talice@example.org\n")
    db = Database(SqliteEngine(str(data_dir / "homeserver.db")), inline_runner)
    record = _run(ThreepidStore(db).get_threepid("email", "alice@example.org"))
    assert record.user_id == "@alice:example.com"  # type: ignore[attr-defined]
    assert record.validated_at > 0  # type: ignore[attr-defined]
    # The address is alice's: bob cannot take it.
    code, _, err = synctl(
        capsys, "threepid", "add", "@bob:example.com", "alice@example.org", *d
    )
    assert code == 1 and "belongs to another user" in err
    code, _, _ = synctl(
        capsys, "threepid", "remove", "@alice:example.com", "alice@example.org", *d
    )
    assert code == 0
    code, out, _ = synctl(capsys, "threepid", "list", "@alice:example.com", *d)
    assert (code, out) == (0, "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "@nobody:example.com", "a@b.org"], "no such user"),
        (["add", "alice", "a@b.org"], "not a user ID"),
        (["add", "@alice:example.com", "not-an-address"], "not an email address"),
        (["remove", "@alice:example.com", "x@y.org"], "has no email"),
    ],
)
def test_errors(
    data_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = synctl(capsys, "threepid", *args, "--data-dir", str(data_dir))
    assert code == 1
    assert message in err
