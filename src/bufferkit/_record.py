"""Immutable records without ``dataclasses`` (whose import costs more than the
rest of bufferkit's core together).

Invariants: a record's fields are the ``__slots__`` of its classes, base first, in
order (``_fields``; a subclass may add none, to add methods); they are set
once, by ``_fill`` in ``__init__``, and never assigned again. Equality, hashing,
``repr``, pickling and ``replace`` are over those fields, as a frozen dataclass's.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Self

__all__ = ["Record"]

_set = object.__setattr__


class Record:
    """Base of an immutable record whose fields are its ``__slots__`` (``_fields``)."""

    __slots__: ClassVar[tuple[str, ...]] = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = cls._fields + tuple(cls.__dict__.get("__slots__", ()))
        type.__setattr__(cls, "_fields", fields)
        type.__setattr__(cls, "__match_args__", fields)  # positional patterns

    def _fill(self, *values: object) -> None:
        """Set every field, in ``_fields`` order (from ``__init__`` only)."""
        for name, value in zip(self._fields, values, strict=True):
            _set(self, name, value)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def replace(self, **changes: Any) -> Self:
        """A copy with the fields named in ``changes`` replaced."""
        unknown = changes.keys() - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        values = dict(zip(self._fields, self._values(), strict=True))
        values.update(changes)
        return type(self)(**values)

    __replace__ = replace  # copy.replace (3.13+)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of {type(self).__name__}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), self._values()
