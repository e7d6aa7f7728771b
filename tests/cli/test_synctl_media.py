"""``synctl media migrate --to s3`` against a real S3 API (moto_server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from homeserver.cli import main
from tests.support.s3 import Bucket

# One file of each kind the server keeps in its media store, and a temporary
# file of a write in progress, which is not media.
FILES = {
    "local_content/ab/cd/efghij": b"an upload",
    "local_content/ab/zz/qwerty": b"another upload" * 100,
    "thumbnails/ab/cd/efghij/32-32-image-png-crop": b"\x89PNG thumb",
    "remote_content/other.example/xy/zw/remoteid": b"cached remote file",
    "url_cache/20261205/preview1": b"<html>",
}
TEMP_FILE = "local_content/ab/cd/.upload-1234"


@attrs.frozen
class Result:
    code: int
    out: str
    err: str


Synctl = Callable[..., Result]


@pytest.fixture
def synctl(capsys: pytest.CaptureFixture[str]) -> Synctl:
    def run(*args: str) -> Result:
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def make_data_dir(root: Path, storage: dict[str, Any]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    config = {"server": {"server_name": "example.com"}, "media": {"storage": storage}}
    (root / "homeserver.yaml").write_text(yaml.safe_dump(config))
    store = root / "media_store"
    for path, data in {**FILES, TEMP_FILE: b"half"}.items():
        (store / path).parent.mkdir(parents=True, exist_ok=True)
        (store / path).write_bytes(data)
    return root


def files_in(store: Path) -> list[str]:
    return sorted(p.relative_to(store).as_posix() for p in store.rglob("*"))


def migrate(synctl: Synctl, data_dir: Path, *extra: str) -> Result:
    return synctl("media", "migrate", "--to", "s3", "--data-dir", str(data_dir), *extra)


def test_migrate_in_batches_resumes_and_copies_everything(
    synctl: Synctl, s3_bucket: Bucket, tmp_path: Path
) -> None:
    storage = s3_bucket.storage_config(prefix="hs/", storage_class="STANDARD_IA")
    data_dir = make_data_dir(tmp_path / "data", {**storage, "backend": "local"})

    first = migrate(synctl, data_dir, "--limit", "2")
    assert first.code == 0, first.err
    assert "copying 5 files" in first.out
    assert "2/5" in first.err  # the progress bar
    assert "uploaded 2 files" in first.out
    assert "3 files left; run the command again to continue" in first.out
    assert s3_bucket.keys() == ["hs/" + p for p in sorted(FILES)[:2]]

    second = migrate(synctl, data_dir)
    assert second.code == 0, second.err
    assert "5/5" in second.err
    assert "uploaded 3 files" in second.out
    assert "2 already in the bucket" in second.out
    assert "done: all 5 files of the media store are in the bucket" in second.out

    assert s3_bucket.keys() == sorted("hs/" + p for p in FILES)
    for path, data in FILES.items():
        assert s3_bucket.get("hs/" + path) == data
        head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key="hs/" + path)
        assert head["StorageClass"] == "STANDARD_IA"
    # Copying leaves the local store as it was.
    assert (data_dir / "media_store" / TEMP_FILE).exists()
    assert all((data_dir / "media_store" / p).exists() for p in FILES)

    third = migrate(synctl, data_dir, "--quiet")
    assert third.code == 0, third.err
    assert "uploaded 0 files (0 B), 5 already in the bucket" in third.out
    assert third.err == ""


def test_an_object_of_another_size_is_uploaded_again(
    synctl: Synctl, s3_bucket: Bucket, tmp_path: Path
) -> None:
    data_dir = make_data_dir(tmp_path / "data", s3_bucket.storage_config())
    path = "local_content/ab/cd/efghij"
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=path, Body=b"partial")
    result = migrate(synctl, data_dir)
    assert result.code == 0, result.err
    assert "uploaded 5 files" in result.out
    assert s3_bucket.get(path) == FILES[path]


def test_delete_local_removes_verified_files_only(
    synctl: Synctl, s3_bucket: Bucket, tmp_path: Path
) -> None:
    data_dir = make_data_dir(tmp_path / "data", s3_bucket.storage_config())
    store = data_dir / "media_store"
    first = migrate(synctl, data_dir, "--limit", "1", "--delete-local")
    assert first.code == 0, first.err
    assert "deleted 1 local files" in first.out
    assert not (store / sorted(FILES)[0]).exists()

    second = migrate(synctl, data_dir, "--delete-local")
    assert second.code == 0, second.err
    assert "deleted 4 local files" in second.out
    assert s3_bucket.keys() == sorted(FILES)
    # Only the write in progress is left, in the directories it needs.
    assert files_in(store) == [
        "local_content",
        "local_content/ab",
        "local_content/ab/cd",
        TEMP_FILE,
    ]


def test_delete_local_is_refused_while_the_server_reads_local_files(
    synctl: Synctl, s3_bucket: Bucket, tmp_path: Path
) -> None:
    storage = {**s3_bucket.storage_config(), "backend": "local"}
    data_dir = make_data_dir(tmp_path / "data", storage)
    result = migrate(synctl, data_dir, "--delete-local")
    assert result.code == 1
    assert "set backend: s3 first" in result.err
    assert s3_bucket.keys() == []


def test_problems_are_reported_without_a_traceback(
    synctl: Synctl, s3_bucket: Bucket, tmp_path: Path
) -> None:
    no_bucket = make_data_dir(tmp_path / "a", {"backend": "local"})
    result = migrate(synctl, no_bucket)
    assert result.code == 1
    assert "media.storage.s3.bucket is not set" in result.err

    missing = make_data_dir(
        tmp_path / "b", s3_bucket.storage_config(bucket="no-such-bucket")
    )
    result = migrate(synctl, missing)
    assert result.code == 1
    assert "cannot reach bucket 'no-such-bucket'" in result.err
    assert "Traceback" not in result.err

    result = synctl("media", "migrate", "--to", "gcs", "--data-dir", str(missing))
    assert result.code == 2
    assert "invalid choice" in result.err
