"""Loan tapes: a CSV file of loan lines read into ``Line`` records, with errors
at a file:line:column (``TapeError``)."""

from __future__ import annotations

import csv
import decimal
import math

from .model import ArmTerms, Line


# --------------------------------------------------------------------------
# loan tape
# --------------------------------------------------------------------------
_REQUIRED = ("group", "balance", "gross_rate", "fee_rate", "remaining_term", "age")
_ARM_REQUIRED = (
    "arm_margin",
    "arm_first_reset",
    "arm_reset_every",
    "arm_initial_cap",
    "arm_periodic_cap",
    "arm_lifetime_cap",
)
_ARM_OPTIONAL = ("arm_floor", "arm_rounding")


def _parse_rate(name: str, s: str) -> float:
    s = s.strip()
    pct = s.endswith("%")
    body = s[:-1].strip() if pct else s
    try:
        d = decimal.Decimal(body)
    except decimal.InvalidOperation:
        raise ValueError(f"{name}: not a rate: {s!r}") from None
    if not d.is_finite():
        raise ValueError(f"{name}: not a finite rate: {s!r}")
    if pct:
        return float(d / 100)  # exact decimal shift: "0.259%" -> 0.00259
    v = float(d)
    if abs(v) >= 1.0:
        raise ValueError(f"{name}: {s!r} is not a decimal rate (write {body}% for a percentage)")
    return v


def _parse_int(name: str, s: str) -> int:
    s = s.strip()
    try:
        v = float(s)
    except ValueError:
        raise ValueError(f"{name}: not an integer: {s!r}") from None
    if not math.isfinite(v) or v != int(v):
        raise ValueError(f"{name}: not an integer: {s!r}")
    return int(v)


def _parse_months(name: str, s: str) -> int:
    """A term, an age or a count of months: capped as the assumptions file caps them."""
    v = _parse_int(name, s)
    if v > MAX_MONTHS:
        raise ValueError(f"{name}: {s.strip()} months is more than {MAX_MONTHS}")
    return v


def _parse_money(name: str, s: str) -> float:
    body = s.strip().replace(",", "").replace("$", "")
    try:
        v = float(body)
    except ValueError:
        raise ValueError(f"{name}: not an amount: {s!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name}: must be a finite amount >= 0, got {s!r}")
    return v


MAX_MONTHS = 720  # sixty years: the most months a term, an age or a reset period may state (tape and YAML)
MAX_FIELD = 128 * 1024  # characters in one field of a loan tape (the csv module's default limit)
MAX_LINE = 1024 * 1024  # characters in one line of a loan tape: a longer one is not read into memory


class TapeError(ValueError):
    """An error at a place in a loan tape: ``str()`` is ``path:line:column: message``;
    ``text`` is that line (shortened when long), for showing it with a caret."""

    def __init__(self, path, line: int, column: int, message: str, text: str = ""):
        self.path, self.line, self.column, self.message, self.text = str(path), line, column, message, text
        super().__init__(f"{path}:{line}:{column}: {message}")


class _Lines:
    """The tape's lines for ``csv.reader``, keeping those of the record being read
    (for positions). A line longer than MAX_LINE is an error, found without
    reading the rest of it."""

    def __init__(self, fh, path):
        self.fh, self.path, self.count, self.record = fh, path, 0, []

    def __iter__(self):
        return self

    def __next__(self):
        line = self.fh.readline(MAX_LINE + 1)
        if not line:
            raise StopIteration
        self.count += 1
        if len(line) > MAX_LINE:
            raise TapeError(self.path, self.count, 1, f"a line longer than {MAX_LINE:,} characters",
                            _shown(line.rstrip("\r\n"), 1))
        self.record.append(line)
        return line


def _shown(line: str, column: int) -> str:
    keep = max(column + 40, 160)
    return line if len(line) <= keep else line[:keep] + " ..."


def _field_starts(raw: str) -> list[int]:
    """Where each field of a CSV record (the csv module's default dialect) starts in its text."""
    starts, i, n = [0], 0, len(raw)
    at_start, quoted = True, False
    while i < n:
        ch = raw[i]
        if quoted:
            if ch == '"':
                if i + 1 < n and raw[i + 1] == '"':
                    i += 1
                else:
                    quoted = False
        elif ch == '"' and at_start:
            quoted = True
        elif ch == ",":
            starts.append(i + 1)
            at_start = True
            i += 1
            continue
        at_start = False
        i += 1
    return starts


def _tape_error(path, first_line: int, raw: str, field: int | None, message: str) -> TapeError:
    """The error at the start of field ``field`` (0-based; None: the last field begun)
    of the record whose text ``raw`` starts at line ``first_line``."""
    starts = _field_starts(raw)
    if field is None:
        off = starts[-1]
    elif field < len(starts):
        off = starts[field]
    else:  # a field the row is too short to have: the end of its text
        off = len(raw.rstrip("\r\n"))
    ls = raw.rfind("\n", 0, off) + 1
    le = raw.find("\n", off)
    text = raw[ls:le if le >= 0 else len(raw)].rstrip("\r\n")
    column = off - ls + 1
    return TapeError(path, first_line + raw.count("\n", 0, off), column, message, _shown(text, column))


def load_tape(path) -> list[Line]:
    """Read a CSV loan tape into Lines.

    Required columns: group, balance, gross_rate, fee_rate, remaining_term, age.
    Optional: io_months, amort_term, count, penalty_rate, penalty_months and the
    ARM columns arm_index, arm_margin, arm_first_reset, arm_reset_every,
    arm_initial_cap, arm_periodic_cap, arm_lifetime_cap, arm_floor,
    arm_rounding.  Rates are decimals (0.0625) or percentages with a % sign
    (6.25%).  Terms, ages and other numbers of months are at most MAX_MONTHS,
    a field at most MAX_FIELD characters.  Other columns are ignored; blank rows
    are skipped.  Errors are ``TapeError`` (a ValueError) ``"{path}:{line}:{column}: ..."``.
    """
    out: list[Line] = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        lines = _Lines(fh, path)
        reader = csv.reader(lines)

        def record():
            """The next row, its first line and its text; None at the end."""
            lines.record = []
            first = lines.count + 1
            try:
                row = next(reader)
            except StopIteration:
                return None
            except csv.Error as e:
                raw = "".join(lines.record)
                msg = (f"a field longer than {min(MAX_FIELD, csv.field_size_limit()) // 1024} KB"
                       if "field larger than field limit" in str(e) else f"cannot read the CSV: {e}")
                raise _tape_error(path, first, raw, None, msg) from None
            raw = "".join(lines.record)
            for i, cell in enumerate(row):
                if len(cell) > MAX_FIELD:  # (when the csv module's limit was raised)
                    raise _tape_error(path, first, raw, i, f"a field longer than {MAX_FIELD // 1024} KB")
            return row, first, raw

        got = record()
        if got is None:
            raise TapeError(path, 1, 1, "empty file, expected a header row")
        header, first, raw = got
        cols = [h.strip().lower() for h in header]
        for i, c in enumerate(cols):
            if c and c in cols[:i]:
                raise _tape_error(path, first, raw, i, f"duplicate column: {c}")
        missing = [c for c in _REQUIRED if c not in cols]
        if missing:
            raise _tape_error(path, first, raw, 0, f"missing required column(s): {', '.join(missing)}")
        pos = {c: i for i, c in enumerate(cols)}
        header_at, header_raw = first, raw
        while (got := record()) is not None:
            row, first, raw = got
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(cols):
                raise _tape_error(path, first, raw, len(cols), f"{len(row)} fields, header has {len(cols)}")

            def get(c, row=row):
                i = pos.get(c)
                return row[i].strip() if i is not None and i < len(row) else ""

            try:
                for c in _REQUIRED:
                    if not get(c):
                        raise ValueError(f"{c}: missing value")
                arm = None
                if get("arm_index"):
                    for c in _ARM_REQUIRED:
                        if not get(c):
                            raise ValueError(f"{c}: missing value for ARM line (arm_index={get('arm_index')})")
                    arm = ArmTerms(
                        index=get("arm_index"),
                        margin=_parse_rate("arm_margin", get("arm_margin")),
                        first_reset=_parse_months("arm_first_reset", get("arm_first_reset")),
                        reset_every=_parse_months("arm_reset_every", get("arm_reset_every")),
                        initial_cap=_parse_rate("arm_initial_cap", get("arm_initial_cap")),
                        periodic_cap=_parse_rate("arm_periodic_cap", get("arm_periodic_cap")),
                        lifetime_cap=_parse_rate("arm_lifetime_cap", get("arm_lifetime_cap")),
                        floor=_parse_rate("arm_floor", get("arm_floor")) if get("arm_floor") else None,
                        rounding=_parse_rate("arm_rounding", get("arm_rounding")) if get("arm_rounding") else None,
                    )
                else:
                    stray = [c for c in _ARM_REQUIRED + _ARM_OPTIONAL if get(c)]
                    if stray:
                        raise ValueError(f"{stray[0]}: ARM column(s) {', '.join(stray)} given without arm_index")
                line = Line(
                    group=get("group"),
                    balance=_parse_money("balance", get("balance")),
                    gross_rate=_parse_rate("gross_rate", get("gross_rate")),
                    fee_rate=_parse_rate("fee_rate", get("fee_rate")),
                    remaining_term=_parse_months("remaining_term", get("remaining_term")),
                    age=_parse_months("age", get("age")),
                    amort_term=_parse_months("amort_term", get("amort_term")) if get("amort_term") else None,
                    io_months=_parse_months("io_months", get("io_months")) if get("io_months") else 0,
                    arm=arm,
                    penalty_rate=_parse_rate("penalty_rate", get("penalty_rate")) if get("penalty_rate") else 0.0,
                    penalty_months=(
                        _parse_months("penalty_months", get("penalty_months")) if get("penalty_months") else 0
                    ),
                    count=_parse_int("count", get("count")) if get("count") else 1,
                )
                if line.fee_rate > max(line.gross_rate, 0.0):  # the net rate would be negative: interest owed, not paid
                    raise ValueError(f"fee_rate: {get('fee_rate')} is more than the gross_rate {get('gross_rate')} "
                                     f"(servicing and trustee fees come out of the loan's interest)")
            except (ValueError, TypeError) as exc:
                raise _tape_error(path, first, raw, _column_of(str(exc), pos), str(exc)) from None
            out.append(line)
    if not out:  # a tape of no loans is a mistake (a file cut short), not a deal without collateral
        raise _tape_error(path, header_at, header_raw, 0, "a header and no loans: expected a row per loan "
                                                          "(or per set of like loans, with a count)")
    return out


def _column_of(message: str, pos: dict) -> int | None:
    """The column a row's error is about: its message starts with the field's name
    (``remaining_term: ...``, or an attribute's ``initial_cap must be >= 0``)."""
    word = message.split(" ", 1)[0].rstrip(":")
    for name in (word, "arm_" + word):
        if name in pos:
            return pos[name]
    return 0
