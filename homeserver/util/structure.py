"""Turn parsed JSON or YAML into typed, frozen attrs objects.

One structurer serves both the config loader (strict: unknown keys are errors,
with a did-you-mean) and request bodies (lenient: unknown keys are ignored, as the
Matrix spec requires of servers). Every problem is collected with its key path,
so a caller can report all of them at once.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import attrs


class Duration(int):
    """A duration in milliseconds; YAML may say ``30s``, ``5m``, ``1h``, ``7d``
    or a bare number of milliseconds."""

    UNITS = {
        "ms": 1,
        "s": 1000,
        "m": 60_000,
        "h": 3_600_000,
        "d": 86_400_000,
        "w": 604_800_000,
        "y": 31_536_000_000,
    }

    @classmethod
    def parse(cls, value: Any) -> Duration:
        if isinstance(value, bool):
            raise ValueError('expected a duration like "30s"')
        if isinstance(value, int):
            return cls(value)
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d+)\s*(ms|s|m|h|d|w|y)?\s*", value)
            if match:
                return cls(int(match.group(1)) * cls.UNITS[match.group(2) or "ms"])
        raise ValueError('expected a duration like "30s", "5m", "1h" or milliseconds')


class ByteSize(int):
    """A size in bytes; YAML may say ``50K``, ``10M``, ``1G`` or a bare number."""

    UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}

    @classmethod
    def parse(cls, value: Any) -> ByteSize:
        if isinstance(value, bool):
            raise ValueError('expected a size like "10M"')
        if isinstance(value, int):
            return cls(value)
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)B?\s*", value.upper())
            if match:
                return cls(int(match.group(1)) * cls.UNITS[match.group(2)])
        raise ValueError('expected a size like "10M", "512K" or a number of bytes')


@attrs.frozen
class Problem:
    """One structuring problem: where, and what was expected."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(top level)'}: {self.message}"


class StructureError(Exception):
    """Raised with every problem found while structuring."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def field_key(field: attrs.Attribute) -> str:
    """The external (JSON/YAML) key of an attrs field."""
    return str(field.metadata.get("key", field.name))


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}.{key}" if path else str(key)
    return f"{path}.{key}" if path else key


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if origin is list:
        return "a list"
    if origin is dict or tp is dict:
        return "a mapping"
    if attrs.has(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _default_of(field: attrs.Attribute, enclosing: Any) -> Any:
    """The default value of ``field``: the enclosing default instance's, else
    the field's own default (a factory is called), else None."""
    if enclosing is not None:
        return getattr(enclosing, field.name)
    default: Any = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return None if default.takes_self else default.factory()
    return None if default is attrs.NOTHING else default


class _Structurer:
    def __init__(self, strict: bool, base_dir: Path | None) -> None:
        self.strict = strict
        self.base_dir = base_dir
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def value(self, tp: Any, data: Any, path: str) -> Any:  # noqa: C901
        origin = typing.get_origin(tp)
        if tp is Any:
            return data
        if origin in (Union, types.UnionType):
            options = typing.get_args(tp)
            if data is None and type(None) in options:
                return None
            non_none = [o for o in options if o is not type(None)]
            if len(non_none) == 1:
                return self.value(non_none[0], data, path)
            for option in non_none:
                trial = _Structurer(self.strict, self.base_dir)
                result = trial.value(option, data, path)
                if not trial.problems:
                    return result
            self.fail(path, "expected " + " or ".join(_type_name(o) for o in non_none))
            return None
        if origin is Literal:
            allowed = typing.get_args(tp)
            if data not in allowed:
                self.fail(
                    path, "expected one of " + ", ".join(repr(a) for a in allowed)
                )
            return data
        if tp in (Duration, ByteSize):
            try:
                return tp.parse(data)
            except ValueError as exc:
                self.fail(path, str(exc))
                return None
        if tp is bool:
            if not isinstance(data, bool):
                self.fail(path, "expected true or false")
            return data
        if tp is int:
            if isinstance(data, bool) or not isinstance(data, int):
                self.fail(path, "expected an integer")
            return data
        if tp is float:
            if isinstance(data, bool) or not isinstance(data, (int, float)):
                self.fail(path, "expected a number")
                return data
            return float(data)
        if tp is str:
            if not isinstance(data, str):
                self.fail(path, "expected a string")
            return data
        if origin is list:
            if not isinstance(data, list):
                self.fail(path, "expected a list")
                return []
            (item_tp,) = typing.get_args(tp) or (Any,)
            return [
                self.value(item_tp, item, _join(path, i)) for i, item in enumerate(data)
            ]
        if origin is dict or tp is dict:
            if not isinstance(data, dict):
                self.fail(path, "expected a mapping")
                return {}
            args = typing.get_args(tp)
            value_tp = args[1] if args else Any
            out = {}
            for key, item in data.items():
                if not isinstance(key, str):
                    self.fail(_join(path, str(key)), "keys must be strings")
                    continue
                out[key] = self.value(value_tp, item, _join(path, key))
            return out
        if attrs.has(tp):
            return self.obj(tp, data, path)
        raise TypeError(f"cannot structure into {tp!r}")

    def obj(self, cls: type, data: Any, path: str, defaults: Any = None) -> Any:
        """Structure ``data`` into ``cls``; keys it leaves out take their
        values from ``defaults`` (an instance of ``cls``) when given: a
        section whose default the enclosing class sets (e.g. a rate limit
        with its own numbers) keeps those defaults when only some of its
        keys are given."""
        if data is None and self.strict:
            data = {}
        if not isinstance(data, dict):
            self.fail(path, "expected a mapping")
            return None
        hints = typing.get_type_hints(cls)
        fields = attrs.fields(cls)
        known = {field_key(f): f for f in fields}
        secret_paths = {
            f"{k}_path": f for k, f in known.items() if f.metadata.get("secret")
        }
        kwargs: dict[str, Any] = {}
        failed: set[str] = set()
        before = len(self.problems)
        for key, item in data.items():
            sub = _join(path, str(key))
            if key in known:
                field = known[key]
                count = len(self.problems)
                hint = hints[field.name]
                if attrs.has(hint) and isinstance(item, dict):
                    kwargs[field.name] = self.obj(
                        hint, item, sub, _default_of(field, defaults)
                    )
                else:
                    kwargs[field.name] = self.value(hint, item, sub)
                if field.metadata.get("file") and isinstance(kwargs[field.name], str):
                    kwargs[field.name] = str(self.resolve(kwargs[field.name]))
                if len(self.problems) > count:
                    failed.add(field.name)
            elif key in secret_paths:
                field = secret_paths[key]
                if field_key(field) in data:
                    self.fail(sub, f"give {field_key(field)} or {key}, not both")
                    continue
                kwargs[field.name] = self.read_secret(item, sub)
            elif self.strict:
                choices = list(known) + list(secret_paths)
                close = difflib.get_close_matches(str(key), choices, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.fail(sub, f"unknown key{hint}")
        if defaults is not None:
            for field in fields:
                if field.name not in kwargs and field.name not in failed:
                    kwargs[field.name] = getattr(defaults, field.name)
        for field in fields:
            if field.name not in kwargs and field.default is attrs.NOTHING:
                self.fail(_join(path, field_key(field)), "is required")
        for field in fields:
            if (
                field.validator is not None
                and field.name not in failed
                and kwargs.get(field.name) is not None
            ):
                try:
                    field.validator(None, field, kwargs[field.name])
                except (ValueError, TypeError) as exc:
                    self.fail(_join(path, field_key(field)), str(exc))
        if len(self.problems) > before:
            return None
        try:
            return cls(**kwargs)
        except (ValueError, TypeError) as exc:
            where: str | None = getattr(exc, "config_path", None)
            self.fail(_join(path, where) if where else path, str(exc))
            return None

    def resolve(self, file_name: str) -> Path:
        """A file named in the data: relative to ``base_dir`` when given."""
        file_path = Path(file_name)
        if not file_path.is_absolute() and self.base_dir is not None:
            file_path = self.base_dir / file_path
        return file_path

    def read_secret(self, file_name: Any, path: str) -> str | None:
        if not isinstance(file_name, str):
            self.fail(path, "expected a file path")
            return None
        file_path = self.resolve(file_name)
        try:
            return file_path.read_text().strip()
        except OSError as exc:
            self.fail(path, f"cannot read {file_path}: {exc.strerror}")
            return None


def structure(
    cls: type, data: Any, *, strict: bool, base_dir: Path | None = None, path: str = ""
) -> Any:
    """Build an instance of the attrs class ``cls`` from ``data``.

    Args:
        cls: an attrs class whose fields are annotated with supported types.
        data: parsed JSON or YAML.
        strict: reject unknown keys (config) instead of ignoring them (requests).
        base_dir: where relative ``*_path`` secret files, and the values of
            fields whose metadata has ``file``, are looked up.
        path: the key path of ``data`` itself, for error messages.

    Returns:
        The new instance.

    Raises:
        StructureError: with every problem found.
    """
    structurer = _Structurer(strict, base_dir)
    result = structurer.obj(cls, data, path)
    if structurer.problems:
        raise StructureError(structurer.problems)
    return result


def check(condition: bool, field: str, message: str) -> None:
    """Raise a ValueError that names ``field`` when ``condition`` is false.

    For attrs ``__attrs_post_init__`` cross-field checks.
    """
    if not condition:
        exc = ValueError(message)
        exc.config_path = field  # type: ignore[attr-defined]
        raise exc


def unstructure(obj: Any) -> Any:
    """The plain-data form of an attrs object (for ``config show``)."""
    if attrs.has(type(obj)):
        return {
            field_key(f): unstructure(getattr(obj, f.name))
            for f in attrs.fields(type(obj))
        }
    if isinstance(obj, list):
        return [unstructure(v) for v in obj]
    if isinstance(obj, dict):
        return {k: unstructure(v) for k, v in obj.items()}
    if isinstance(obj, (Duration, ByteSize)):
        return int(obj)
    return obj
