"""Frozen records for the launcher's hot path, without `dataclasses`.

`import dataclasses` pulls in inspect, ast, dis and tokenize (~10 ms), and every frozen
dataclass execs generated methods (~1 ms a class): together most of `xx cip`'s start-up.
`@record` gives the part of a frozen dataclass the config and launch plans use — an
__init__ taking fields by position or name with defaults and `field(default_factory=…)`,
equality, hashing, a repr, immutability and `replace` — with plain closures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_MISSING = object()


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], Any]) -> Any:
    return _Factory(default_factory)


class FrozenError(AttributeError):
    pass


def record(cls: type[T]) -> type[T]:
    names = tuple(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063 (importing inspect is the cost avoided)
    defaults = {n: cls.__dict__[n] for n in names if n in cls.__dict__}
    for n, d in defaults.items():
        if isinstance(d, _Factory):
            delattr(cls, n)
    cname = cls.__name__

    def __init__(self: Any, *args: Any, **kw: Any) -> None:
        self.__dict__.update(_bind(cname, names, defaults, args, kw))

    def __setattr__(self: Any, name: str, value: Any) -> None:
        raise FrozenError(f"cannot assign to field {name!r} of a frozen {cname}")

    def __delattr__(self: Any, name: str) -> None:
        raise FrozenError(f"cannot delete field {name!r} of a frozen {cname}")

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(self.__dict__[n] == other.__dict__[n] for n in names)

    def __hash__(self: Any) -> int:
        return hash(tuple(self.__dict__[n] for n in names))

    def __repr__(self: Any) -> str:
        return f"{cname}({', '.join(f'{n}={self.__dict__[n]!r}' for n in names)})"

    for fn in (__init__, __setattr__, __delattr__, __eq__, __hash__, __repr__):
        fn.__qualname__ = f"{cname}.{fn.__name__}"
        setattr(cls, fn.__name__, fn)
    cls.__record_fields__ = names  # type: ignore[attr-defined]
    return cls


def _bind(cname: str, names: tuple[str, ...], defaults: dict[str, Any], args: tuple[Any, ...],
          kw: dict[str, Any]) -> dict[str, Any]:
    """Arguments to field values, with the errors a dataclass would raise."""
    if len(args) > len(names):
        raise TypeError(f"{cname}() takes {len(names)} arguments, got {len(args)}")
    values = dict(zip(names, args, strict=False))
    for k, v in kw.items():
        if k not in defaults and k not in names:
            raise TypeError(f"{cname}() got an unexpected keyword argument {k!r}")
        if k in values:
            raise TypeError(f"{cname}() got multiple values for argument {k!r}")
        values[k] = v
    for n in names:
        if n not in values:
            d = defaults.get(n, _MISSING)
            if d is _MISSING:
                raise TypeError(f"{cname}() missing required argument {n!r}")
            values[n] = d.make() if isinstance(d, _Factory) else d
    return values


def replace(obj: T, **changes: Any) -> T:
    names = obj.__record_fields__  # type: ignore[attr-defined]
    return type(obj)(**{n: changes.get(n, obj.__dict__[n]) for n in names})


def fields(obj: Any) -> tuple[str, ...]:
    return obj.__record_fields__
