"""The background builder's process (``python -m interpreter.native.builder``,
started by ``background.start``): builds one library for the next run and
removes its source file and marker, whatever happens."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List

from .background import _unlink, record_timeout
from .build import CompileTimeout, load, timeout
from .fixed import KERNELS, library


def main(argv: List[str]) -> int:
    """The builder: NAME SOURCE-FILE MARKER warn|quiet FOLDER."""
    name, src, marker, warn, folder = argv
    try:
        with open(src, "r", encoding="ascii") as fh:
            source = fh.read()
        _unlink(src)
        if Path(folder) == KERNELS:
            library(name)  # kept with the package, as the fixed module keeps it
        else:
            load(name, source, warn=warn == "warn", folder=Path(folder))
        return 0
    except CompileTimeout:  # not started again by each run while the same source would time out again
        record_timeout(Path(marker).with_name(Path(marker).name[1:-len(".building.tmp")] + ".so"), timeout())
        return 1
    except Exception:  # noqa: BLE001 - nobody to tell: the next run builds it (and says why) itself
        return 1
    finally:
        _unlink(src)
        _unlink(marker)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
