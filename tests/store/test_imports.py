"""CSV imports: checked whole before writing, errors with line numbers, idempotent upserts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.store import Store
from callcenter.store.accounts import Account, get_account
from callcenter.store.codes import get_code
from callcenter.store.imports import ImportErrors, import_file, read_rows

NOW = 1_795_753_044.0


def _csv(tmp_path: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


async def test_codes_import_twice_changes_nothing(store: Store, tmp_path: Path) -> None:
    path = _csv(tmp_path, "Code , Product,batch\n12345678,Tea 250 g,B7\n87654321,,\n")
    assert await import_file(store, "codes", path, at=NOW) == 2
    assert await import_file(store, "codes", path, at=NOW + 1) == 2
    code = await get_code(store, "12345678")
    assert code is not None
    assert (code.product, code.batch, code.check_count) == ("Tea 250 g", "B7", 0)


async def test_customers_import_writes_only_the_columns_given(store: Store, tmp_path: Path) -> None:
    await store.upsert_customer("5551234", name="Old name", language="zh")
    path = _csv(tmp_path, "number,vip,tags\n5551234,yes,repeat;complaint\n+8613800138000,0,\n")
    assert await import_file(store, "customers", path, at=NOW) == 2
    assert await import_file(store, "customers", path, at=NOW) == 2
    known = await store.get_customer("5551234")
    assert known is not None
    assert (known.name, known.vip, known.language) == ("Old name", True, "zh")
    assert known.tags == ("complaint", "repeat")
    new = await store.get_customer("+8613800138000")
    assert new is not None
    assert (new.vip, new.tags) == (False, ())


async def test_accounts_import_with_balance_in_cents(store: Store, tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "number,customer_number,holder,balance,order_status,area\n"
        '10002000,5551234,"O\'Brien ""VIP"" 张","-1,234.50",shipped,021\n'
        "10002001,,,3,,\n",
    )
    assert await import_file(store, "accounts", path, at=NOW) == 2
    assert await get_account(store, "10002000") == Account(
        "10002000", "5551234", 'O\'Brien "VIP" 张', -123450, "shipped", "021"
    )
    assert await get_account(store, "10002001") == Account("10002001", None, "", 300)


async def test_large_file_goes_in_by_batches(store: Store, tmp_path: Path) -> None:
    lines = "".join(f"{n:010d},Tea\n" for n in range(2_345))
    path = _csv(tmp_path, "code,product\n" + lines)
    assert await import_file(store, "codes", path, at=NOW) == 2_345
    assert await get_code(store, f"{2_344:010d}") is not None


async def test_hostile_text_is_stored_literally(store: Store, tmp_path: Path) -> None:
    hostile = "x'); DROP TABLE customers; --"
    path = _csv(tmp_path, f'number,name\n5550001,"{hostile}"\n')
    await import_file(store, "customers", path, at=NOW)
    found = await store.get_customer("5550001")
    assert found is not None
    assert found.name == hostile


def test_every_error_is_reported_with_its_line_and_nothing_is_written(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "number,balance,area\n"
        "10002000,12.5,021\n"
        "12,abc,02a\n"  # line 3: three errors
        "\n"
        '10002002,"1\n2",1\n'  # a quoted line break: the row starts on line 5
        "10002003,1\n",  # line 7: short
    )
    with pytest.raises(ImportErrors) as failed:
        read_rows("accounts", path)
    assert failed.value.errors == [
        f"{path}:3: number: 2 digits; an account number has 4 to 20",
        f"{path}:3: balance: 'abc' is not an amount such as 120.50 or -3",
        f"{path}:3: area: '02a' is not an area code (digits)",
        f"{path}:5: balance: '1\\n2' is not an amount such as 120.50 or -3",
        f"{path}:7: 2 cells, the header has 3",
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "1: the file is empty; a header row is needed"),
        ("product\nTea\n", "1: code: required column missing"),
        ("code,colour\n1234,red\n", "1: colour: unknown column for codes"),
        ("code,code\n1234,1234\n", "1: code: column given twice"),
        ("code\n1234,x\n", "2: 2 cells, the header has 1"),
        ("code,product\n ,Tea\n", "2: code: required, but empty"),
        ("code\n123456789012345678901234567890123\n", "2: code: 33 digits"),
        ("code\n١٢٣٤٥\n", "2: code: '١٢٣٤٥' is not digits"),
    ],
)
def test_bad_codes_files(tmp_path: Path, text: str, error: str) -> None:
    path = _csv(tmp_path, text)
    with pytest.raises(ImportErrors) as failed:
        read_rows("codes", path)
    assert failed.value.errors[0].startswith(f"{path}:{error}")


def test_gbk_file_needs_its_encoding(tmp_path: Path) -> None:
    path = _csv(tmp_path, "number,name\n5551234,张三\n", encoding="gbk")
    with pytest.raises(ImportErrors) as failed:
        read_rows("customers", path)
    assert "try --encoding gbk" in failed.value.errors[0]
    assert read_rows("customers", path, encoding="gbk") == [{"number": "5551234", "name": "张三"}]


def test_cli_imports_and_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cc.db")
    good = _csv(tmp_path, "code,product\n12345678,Tea\n", name="codes.csv")
    assert main(["import", "codes", str(good), "--db", db]) == 0
    assert "1 codes rows imported" in capsys.readouterr().out
    bad = _csv(tmp_path, "code\n12\n99999999\n", name="bad.csv")
    assert main(["import", "codes", str(bad), "--db", db, "--check"]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2: code: 2 digits" in err
    assert "1 error(s); nothing imported" in err
    assert main(["import", "codes", str(bad), "--db", db]) == 1

    async def read() -> object:
        async with await Store.open(db) as store:
            return await get_code(store, "99999999")

    assert asyncio.run(read()) is None  # the good row of a bad file was not written
    assert main(["import", "codes", str(tmp_path / "none.csv"), "--db", db]) == 1
