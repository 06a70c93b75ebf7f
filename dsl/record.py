"""Immutable records for the AST and its diagnostics, built without generating code.

``@record`` turns a class whose body lists annotated fields (``name: type`` or
``name: type = default`` or ``name: type = field(default=..., eq=False)``) into
a frozen value class, the way ``attrs.frozen`` did before: an ``__init__`` that
takes the fields positionally or by name, equality and hashing over the fields
compared (``eq=False`` leaves one out, as a span is), a ``Name(field=...)``
repr, ``__match_args__``, and no assignment after construction.

Why not attrs: attrs writes and compiles the source of every class's methods
when the module is imported, about 1 ms a class, and the AST has forty-odd
classes. These methods are shared closures instead, so ``import dsl.ast``
costs a few milliseconds, and the records pickle with plain instance state
(a deal cached by ``dsl.dealcache`` loads without calling Python per node).
"""
from __future__ import annotations

from operator import attrgetter
from typing import Any, Dict, Tuple

__all__ = ["record", "field", "fields", "evolve", "FrozenInstanceError", "NOTHING"]


class _Nothing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOTHING"

    def __reduce__(self):
        return "NOTHING"


NOTHING: Any = _Nothing()


class FrozenInstanceError(AttributeError):
    """Raised on an attempt to change or delete a field of a record."""

    msg = "can't set attribute"

    def __init__(self, name: str = ""):
        super().__init__(f"{self.msg} {name!r}" if name else self.msg)


class Field:
    """One field of a record: its name, default, and whether it takes part in
    equality (and so hashing) and in the repr."""

    __slots__ = ("name", "default", "eq", "repr")

    def __init__(self, default: Any = NOTHING, eq: bool = True, repr: bool = True, name: str = ""):
        self.name, self.default, self.eq, self.repr = name, default, eq, repr

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, eq={self.eq!r}, repr={self.repr!r})"


def field(*, default: Any = NOTHING, eq: bool = True, repr: bool = True) -> Any:
    """A field with options, as ``span: Span = field(default=NOWHERE, eq=False)``."""
    return Field(default, eq, repr)


def fields(cls) -> Tuple[Field, ...]:
    """The fields of a record class, in order."""
    try:
        return cls.__record_fields__
    except AttributeError:
        raise TypeError(f"{cls!r} is not a record class") from None


def evolve(inst, **changes):
    """A copy of ``inst`` with some fields replaced."""
    cls = type(inst)
    for f in fields(cls):
        if f.name not in changes:
            changes[f.name] = getattr(inst, f.name)
    return cls(**changes)


def _getter(names):
    """A function returning the tuple of the named attributes (C speed)."""
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return attrgetter(*names)


def record(cls):
    """Make ``cls`` a frozen record of its annotated fields (see the module doc)."""
    if cls.__bases__ != (object,):
        raise TypeError(f"@record class {cls.__name__} must not inherit (it has {cls.__bases__})")
    body = dict(cls.__dict__)
    annotations = body.get("__annotations__", {})
    flds = []
    for name in annotations:
        value = body.pop(name, NOTHING)
        f = value if isinstance(value, Field) else Field(value)
        f.name = name
        flds.append(f)
    seen_default = False
    for f in flds:
        if f.default is NOTHING and seen_default:
            raise TypeError(f"{cls.__name__}: field {f.name!r} without a default follows one with a default")
        seen_default = seen_default or f.default is not NOTHING
    names = tuple(f.name for f in flds)
    n = len(names)
    index = {name: i for i, name in enumerate(names)}
    required = sum(1 for f in flds if f.default is NOTHING)
    defaults = tuple(f.default for f in flds[required:])
    qualname = cls.__qualname__

    def __init__(self, *args, **kwargs):
        given = len(args)
        if given == n and not kwargs:
            self.__dict__.update(zip(names, args))
            return
        if given > n:
            raise TypeError(f"{qualname}() takes {n} positional arguments but {given} were given")
        values = [*args, *([NOTHING] * (n - given))]
        for key, value in kwargs.items():
            i = index.get(key)
            if i is None:
                raise TypeError(f"{qualname}() got an unexpected keyword argument {key!r}")
            if i < given:
                raise TypeError(f"{qualname}() got multiple values for argument {key!r}")
            values[i] = value
        missing = []
        for i in range(given, n):
            if values[i] is NOTHING:
                if i < required:
                    missing.append(repr(names[i]))
                else:
                    values[i] = defaults[i - required]
        if missing:
            raise TypeError(f"{qualname}() missing required argument(s): {', '.join(missing)}")
        self.__dict__.update(zip(names, values))

    eq_key = _getter(tuple(f.name for f in flds if f.eq))
    repr_names = tuple(f.name for f in flds if f.repr)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return eq_key(self) == eq_key(other)

    def __ne__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return eq_key(self) != eq_key(other)

    def __hash__(self):
        return hash((qualname, *eq_key(self)))

    def __repr__(self):
        d = self.__dict__
        return f"{qualname}(" + ", ".join(f"{k}={d[k]!r}" for k in repr_names) + ")"

    def __setattr__(self, name, value):
        raise FrozenInstanceError(name)

    def __delattr__(self, name):
        raise FrozenInstanceError(name)

    methods: Dict[str, Any] = {
        "__init__": __init__, "__eq__": __eq__, "__ne__": __ne__, "__hash__": __hash__,
        "__repr__": __repr__, "__setattr__": __setattr__, "__delattr__": __delattr__,
    }
    for key, fn in methods.items():
        if key in body:
            raise TypeError(f"@record class {cls.__name__} defines {key} itself")
        fn.__qualname__ = f"{qualname}.{key}"
        fn.__module__ = cls.__module__
        type.__setattr__(cls, key, fn)
    for f in flds:
        if f.name in cls.__dict__:
            type.__delattr__(cls, f.name)  # the default lives in the field, not on the class
    cls.__record_fields__ = tuple(flds)
    cls.__match_args__ = names
    return cls
