"""CSV imports for the self-service data: authenticity codes, customers, accounts.

``callcenter import codes|customers|accounts FILE``. A file has a header row naming its
columns (any order, case and surrounding blanks ignored; see :data:`COLUMNS`). The whole
file is checked before anything is written, and every error is reported at once as
``FILE:LINE: column: message`` (LINE: the file's line where the row starts, the
header being 1). Then
the rows go in by batches of :data:`~callcenter.store.codes.IMPORT_BATCH`, each an upsert
on the key (``code``, ``number``), so importing the same file twice changes nothing, and
importing a corrected file updates what it names. Within one file a later row for the same
key wins.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from callcenter.store.accounts import Account, import_accounts
from callcenter.store.codes import ProductCode, batches, import_codes, upsert
from callcenter.store.schema import customer_tags, customers
from callcenter.store.store import Store

#: Longest free-text value accepted (names, products), in characters.
MAX_TEXT = 200

_DIGITS = re.compile(r"[0-9]+")
_PHONE = re.compile(r"\+?[0-9]{3,20}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:[_-][A-Za-z]{2})?")
_STATUS = re.compile(r"[a-z][a-z0-9_]{0,31}")
_AMOUNT = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,2})?")
_YES = {"1", "true", "yes", "y"}
_NO = {"0", "false", "no", "n", ""}


class ImportErrors(Exception):  # noqa: N818 - a list of errors, like ConfigErrors
    """The file has errors; nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


class _InvalidValueError(ValueError):
    pass


# --- values --------------------------------------------------------------------------


def _text(value: str) -> str:
    if len(value) > MAX_TEXT:
        raise _InvalidValueError(f"longer than {MAX_TEXT} characters")
    if any(ord(char) < 32 for char in value):
        raise _InvalidValueError("contains control characters")
    return value


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value.isascii() or not pattern.fullmatch(value):
            raise _InvalidValueError(f"{value[:40]!r} is not {what}")
        return value

    return check


def _code(value: str) -> str:
    _matching(_DIGITS, "digits")(value)
    if not 4 <= len(value) <= 32:
        raise _InvalidValueError(f"{len(value)} digits; a code has 4 to 32")
    return value


def _account_number(value: str) -> str:
    _matching(_DIGITS, "digits")(value)
    if not 4 <= len(value) <= 20:
        raise _InvalidValueError(f"{len(value)} digits; an account number has 4 to 20")
    return value


def _yes_no(value: str) -> bool:
    lowered = value.lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise _InvalidValueError(f"{value[:40]!r} is not yes/no (1/0, true/false)")


def _cents(value: str) -> int:
    plain = value.replace(",", "")
    if not _AMOUNT.fullmatch(plain):
        raise _InvalidValueError(f"{value[:40]!r} is not an amount such as 120.50 or -3")
    try:
        return int(Decimal(plain) * 100)
    except InvalidOperation as exc:  # pragma: no cover - the pattern rules it out
        raise _InvalidValueError(str(exc)) from exc


def _tags(value: str) -> tuple[str, ...]:
    tags = tuple(tag.strip() for tag in value.split(";") if tag.strip())
    for tag in tags:
        _text(tag)
    return tags


_PHONE_NUMBER = _matching(_PHONE, "a phone number (digits, optional leading +)")


@dataclass(frozen=True, slots=True)
class Column:
    parse: Callable[[str], Any]
    required: bool = False


COLUMNS: dict[str, dict[str, Column]] = {
    "codes": {
        "code": Column(_code, required=True),
        "product": Column(_text),
        "batch": Column(_text),
    },
    "customers": {
        "number": Column(_PHONE_NUMBER, required=True),
        "name": Column(_text),
        "vip": Column(_yes_no),
        "language": Column(_matching(_LANGUAGE, "a language code such as zh or en")),
        "tags": Column(_tags),
        "notes": Column(_text),
    },
    "accounts": {
        "number": Column(_account_number, required=True),
        "customer_number": Column(_PHONE_NUMBER),
        "holder": Column(_text),
        "balance": Column(_cents),
        "order_status": Column(_matching(_STATUS, "a status word such as shipped")),
        "area": Column(_matching(re.compile(r"[0-9]{1,10}"), "an area code (digits)")),
    },
}
KINDS = tuple(COLUMNS)


# --- reading -------------------------------------------------------------------------


def read_rows(kind: str, path: Path, *, encoding: str = "utf-8-sig") -> list[dict[str, Any]]:
    """The rows of ``path`` as parsed values, keyed by column; :class:`ImportErrors` if any
    line is wrong. Empty cells of optional columns are left out (the store keeps its value
    for customers, or stores NULL for new rows)."""
    columns = COLUMNS[kind]
    errors: list[str] = []
    rows: dict[str, dict[str, Any]] = {}
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise ImportErrors([f"{path}: unknown encoding {encoding!r}"]) from exc
    try:
        with path.open(encoding=encoding, newline="") as file:
            reader = csv.reader(file)
            header = next(reader, None)
            if header is None:
                raise ImportErrors([f"{path}:1: the file is empty; a header row is needed"])
            names = [name.strip().lower() for name in header]
            errors.extend(_header_errors(path, kind, names))
            if errors:
                raise ImportErrors(errors)
            key = next(name for name, column in columns.items() if column.required)
            while True:
                start = reader.line_num + 1  # a quoted cell may span lines: report the first
                cells = next(reader, None)
                if cells is None:
                    break
                if not any(cell.strip() for cell in cells):
                    continue  # blank line
                row = _row(path, start, names, cells, columns, errors)
                if row is not None:
                    rows[row[key]] = row
    except UnicodeDecodeError as exc:
        message = f"{path}: not {encoding} text ({exc.reason}); try --encoding gbk"
        raise ImportErrors([message]) from exc
    except csv.Error as exc:
        raise ImportErrors([f"{path}: {exc}"]) from exc
    if errors:
        raise ImportErrors(errors)
    return list(rows.values())


def _header_errors(path: Path, kind: str, names: list[str]) -> Iterator[str]:
    columns = COLUMNS[kind]
    known = ", ".join(columns)
    for name in names:
        if name not in columns:
            yield f"{path}:1: {name or '(empty)'}: unknown column for {kind} (known: {known})"
    for name, column in columns.items():
        if column.required and name not in names:
            yield f"{path}:1: {name}: required column missing"
    seen: set[str] = set()
    for name in names:
        if name in seen:
            yield f"{path}:1: {name}: column given twice"
        seen.add(name)


def _row(
    path: Path,
    line: int,
    names: list[str],
    cells: list[str],
    columns: Mapping[str, Column],
    errors: list[str],
) -> dict[str, Any] | None:
    if len(cells) != len(names):
        errors.append(f"{path}:{line}: {len(cells)} cells, the header has {len(names)}")
        return None
    row: dict[str, Any] = {}
    failed = False
    for name, cell in zip(names, cells, strict=True):
        value = cell.strip()
        column = columns[name]
        if not value:
            if column.required:
                errors.append(f"{path}:{line}: {name}: required, but empty")
                failed = True
            continue
        try:
            row[name] = column.parse(value)
        except _InvalidValueError as exc:
            errors.append(f"{path}:{line}: {name}: {exc}")
            failed = True
    return None if failed else row


# --- writing -------------------------------------------------------------------------


async def import_file(
    store: Store, kind: str, path: Path, *, at: float, encoding: str = "utf-8-sig"
) -> int:
    """Check then import ``path`` as ``kind``; the number of rows written."""
    rows = read_rows(kind, path, encoding=encoding)
    if kind == "codes":
        return await import_codes(store, (ProductCode(**row) for row in rows), at=at)
    if kind == "accounts":
        return await import_accounts(store, (_account(row) for row in rows), at=at)
    return await import_customers(store, rows, at=at)


def _account(row: dict[str, Any]) -> Account:
    values = dict(row)
    if "balance" in values:
        values["balance_cents"] = values.pop("balance")
    return Account(**values)


async def import_customers(store: Store, rows: Iterable[dict[str, Any]], *, at: float) -> int:
    """Upsert customers by number, in batches. Only the columns a row has are written, so a
    file with ``number,vip`` marks VIPs without touching names; tags are added."""
    count = 0
    for batch in batches(rows):
        async with store.transaction() as tx:
            # One statement per shape of row: executemany needs the same columns in each.
            shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            tags: list[dict[str, str]] = []
            for row in batch:
                values = {name: value for name, value in row.items() if name != "tags"}
                shapes.setdefault(tuple(sorted(values)), []).append(values)
                tags.extend({"number": row["number"], "tag": tag} for tag in row.get("tags", ()))
            for names, same in shapes.items():
                stmt = upsert(tx.conn, customers)
                changed = [name for name in names if name != "number"]
                set_ = {name: stmt.excluded[name] for name in (*changed, "updated_at")}
                stmt = stmt.on_conflict_do_update(index_elements=["number"], set_=set_)
                await tx.conn.execute(
                    stmt, [{**values, "created_at": at, "updated_at": at} for values in same]
                )
            if tags:
                stmt = upsert(tx.conn, customer_tags).on_conflict_do_nothing(
                    index_elements=["number", "tag"]
                )
                await tx.conn.execute(stmt, tags)
        count += len(batch)
    return count
