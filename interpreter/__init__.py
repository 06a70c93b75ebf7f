"""waterfall-dsl's interpreter. The Python API (docs/api.md) is imported on
first use, so ``python -m interpreter`` and the tools pay nothing for it:

    from interpreter import load
"""
_API = ("Deal", "Run", "WaterfallError", "load")


def __getattr__(name):
    if name in _API:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'interpreter' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))
