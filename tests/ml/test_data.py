"""ml.data: reading awkward and hostile CSV files, Parquet round trips, column kinds."""

from __future__ import annotations

import gzip
import io
import zipfile

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ml.data import (
    CsvLimits,
    column_kind,
    is_id_like,
    read_csv,
    read_parquet,
    sniff_bytes,
    write_parquet,
)
from ml.errors import DataError

PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"


def read(data: bytes, **limits: int) -> pd.DataFrame:
    return read_csv(io.BytesIO(data), limits=CsvLimits(**limits) if limits else None)


def refusal(data: bytes, **limits: int) -> str:
    with pytest.raises(DataError) as info:
        read(data, **limits)
    return str(info.value)


# ---------------------------------------------------------------- well-formed variants


def test_it_reads_a_plain_csv_with_types() -> None:
    df = read(b"age,name,joined,member\n31,Ann,2021-03-04,true\n45,Bob,2020-12-01,false\n")
    assert list(df.columns) == ["age", "name", "joined", "member"]
    assert df["age"].tolist() == [31, 45]
    assert df["name"].tolist() == ["Ann", "Bob"]
    assert pd.api.types.is_datetime64_any_dtype(df["joined"])
    assert df["member"].tolist() == [True, False]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_it_recognises_the_delimiter(delimiter: str) -> None:
    text = delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", "x y", "3"]) + "\n"
    df = read(text.encode())
    assert df.shape == (1, 3)
    assert df.iloc[0].tolist() == [1, "x y", 3]


def test_it_reads_decimal_commas_in_a_semicolon_file() -> None:
    df = read("price;city\n1,5;Köln\n2,25;Bonn\n".encode())
    assert df["price"].tolist() == [1.5, 2.25]


def test_it_keeps_commas_inside_quotes() -> None:
    df = read(b'name,comment\nAnn,"hello, world"\nBob,"a, b, c"\n')
    assert df["comment"].tolist() == ["hello, world", "a, b, c"]


def test_it_strips_a_utf8_bom() -> None:
    df = read(b"\xef\xbb\xbfid,city\n1,Z\xc3\xbcrich\n")
    assert list(df.columns) == ["id", "city"]
    assert df["city"].tolist() == ["Zürich"]


def test_it_reads_utf16_with_a_bom() -> None:
    df = read("id;city\n1;Zürich\n2;Malmö\n".encode("utf-16"))
    assert df.shape == (2, 2)
    assert df["city"].tolist() == ["Zürich", "Malmö"]


def test_it_reads_utf16_le_without_a_bom() -> None:
    df = read("id,city\n1,Zürich\n".encode("utf-16-le"))
    assert df["city"].tolist() == ["Zürich"]


def test_it_reads_latin1_text() -> None:
    df = read("id,city\n1,Zürich\n2,Besançon\n".encode("latin-1"))
    assert df["city"].tolist() == ["Zürich", "Besançon"]


def test_it_reads_latin1_bytes_that_appear_only_after_the_sniffed_head() -> None:
    body = b"".join(b"%d,plain\n" % i for i in range(20_000))
    df = read(b"id,word\n" + body + "20000,café\n".encode("latin-1"))
    assert len(df) == 20_001
    assert df["word"].iloc[-1] == "café"


def test_it_reads_newlines_inside_quoted_fields() -> None:
    df = read(b'id,note\n1,"first line\nsecond line"\n2,"single"\n')
    assert df.shape == (2, 2)
    assert df["note"].tolist() == ["first line\nsecond line", "single"]


def test_it_reads_quoted_newlines_across_parser_blocks() -> None:
    rows = "".join(f'{i},"line one\nline two {i}"\n' for i in range(60_000))
    df = read(("id,note\n" + rows).encode())
    assert len(df) == 60_000
    assert df["note"].iloc[-1] == "line one\nline two 59999"


# With max_field_chars=1_000 the parser reads 1 MiB blocks; these bodies span several.
MANY_ROWS = 200_000


def test_it_reads_text_that_appears_in_a_number_column_after_the_first_block() -> None:
    body = b"".join(b"%d,%d\n" % (i, i % 97) for i in range(MANY_ROWS))
    df = read(b"id,weight\n" + body + b"%d,heavy\n" % MANY_ROWS, max_field_chars=1_000)
    assert len(df) == MANY_ROWS + 1
    assert df["weight"].iloc[[0, 1, -1]].tolist() == ["0", "1", "heavy"]
    assert pd.api.types.is_integer_dtype(df["id"].dtype)


def test_it_reads_values_in_a_column_that_is_empty_for_the_first_blocks() -> None:
    body = b"".join(b"%d,\n" % i for i in range(MANY_ROWS))
    df = read(b"id,late\n" + body + b"%d,2.5\n" % MANY_ROWS, max_field_chars=1_000)
    assert df["late"].iloc[-1] == 2.5 and df["late"].isna().sum() == MANY_ROWS


def test_it_reads_latin1_bytes_that_appear_only_after_the_first_block() -> None:
    body = b"".join(b"%d,plain\n" % i for i in range(MANY_ROWS))
    df = read(b"id,word\n" + body + "0,café\n".encode("latin-1"), max_field_chars=1_000)
    assert len(df) == MANY_ROWS + 1 and df["word"].iloc[-1] == "café"


def test_it_refuses_binary_bytes_hidden_after_the_first_block() -> None:
    data = b"a,b\n" + b"1,2\n" * MANY_ROWS + b"3,\x00\x01\x02\x03\n"
    assert "binary data" in refusal(data, max_field_chars=1_000)


def test_it_reads_a_many_block_file_as_pandas_does() -> None:
    rows = (f"{i},{i * 0.5},{'abc'[i % 3]},2024-01-{1 + i % 28:02d}\n" for i in range(MANY_ROWS))
    data = ("n,x,letter,day\n" + "".join(rows)).encode()
    df = read(data, max_field_chars=1_000)
    expected = pd.read_csv(io.BytesIO(data), parse_dates=["day"])
    assert len(df) == MANY_ROWS and df["letter"].iloc[-1] == expected["letter"].iloc[-1]
    assert df["n"].tolist() == expected["n"].tolist()
    assert df["x"].tolist() == expected["x"].tolist()
    assert (df["day"] == expected["day"]).all()


def test_it_reads_a_single_row() -> None:
    df = read(b"a,b\n1,2")
    assert df.shape == (1, 2)


def test_it_reads_a_single_column() -> None:
    df = read(b"score\n1\n2\n3\n")
    assert df["score"].tolist() == [1, 2, 3]


def test_it_reads_5000_columns() -> None:
    names = ",".join(f"p{i}" for i in range(5_000))
    rows = "\n".join(",".join(str((r * i) % 256) for i in range(5_000)) for r in range(3))
    df = read(f"{names}\n{rows}\n".encode())
    assert df.shape == (3, 5_000)
    assert df["p4999"].tolist() == [0, 4999 % 256, (2 * 4999) % 256]


def test_it_keeps_a_column_with_every_value_missing() -> None:
    df = read(b"a,empty\n1,\n2,\n")
    assert df.shape == (2, 2)
    assert df["empty"].isna().all()


def test_it_keeps_cells_starting_with_equals_as_plain_text() -> None:
    df = read(b'a,b\n=1+2,"=HYPERLINK(""http://x"")"\n=SUM(A1:A2),=cmd|\'/c calc\'!A0\n')
    assert df["a"].tolist() == ["=1+2", "=SUM(A1:A2)"]
    assert df["b"].tolist() == ['=HYPERLINK("http://x")', "=cmd|'/c calc'!A0"]


def test_it_names_blank_header_cells() -> None:
    df = read(b" a ,,c\n1,2,3\n")
    assert list(df.columns) == ["a", "column_2", "c"]


def test_it_treats_a_first_row_of_repeating_numbers_as_data() -> None:
    df = read(b"0,0,1\n5,0,1\n")
    assert list(df.columns) == ["column_1", "column_2", "column_3"]
    assert df.shape == (2, 3)


def test_it_keeps_distinct_years_as_header_names() -> None:
    df = read(b"2019,2020\n1,2\n")
    assert list(df.columns) == ["2019", "2020"]


def test_it_pads_short_rows_with_missing_values() -> None:
    df = read(b"a,b,c\n1,2,3\n4,5\n6,7,8\n")
    assert df.shape == (3, 3)
    assert df["c"].tolist()[0] == 3 and np.isnan(df["c"].tolist()[1])


def test_it_ignores_a_trailing_delimiter_on_every_row() -> None:
    df = read(b"a,b,c\n1,2,3,\n4,5,6,\n")
    assert df.to_dict("list") == {"a": [1, 4], "b": [2, 5], "c": [3, 6]}


def test_it_reads_a_file_object_that_cannot_seek() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    df = read_csv(Pipe(b"a,b\n1,2\n3\n"))  # type: ignore[arg-type]
    assert df.shape == (2, 2)


# ---------------------------------------------------------------- refusals


def test_it_refuses_an_empty_file() -> None:
    assert "empty" in refusal(b"")


def test_it_refuses_a_file_of_blank_lines() -> None:
    assert "no columns" in refusal(b"\n\n   \n")


def test_it_refuses_a_header_without_rows() -> None:
    assert "no data rows" in refusal(b"a,b,c\n")


def test_it_refuses_a_png_named_csv() -> None:
    message = refusal(PNG_HEADER + bytes(range(256)))
    assert "PNG image" in message and "not a CSV" in message


def test_it_refuses_gzip_bytes_without_decompressing() -> None:
    message = refusal(gzip.compress(b"a,b\n1,2\n"))
    assert "gzip" in message and "Nothing is unpacked" in message


def test_it_refuses_zip_bytes() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    assert "zip archive" in refusal(buffer.getvalue())


def test_it_refuses_random_binary_bytes() -> None:
    noise = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    assert "binary data" in refusal(noise)


def test_it_refuses_binary_bytes_hidden_after_a_text_head() -> None:
    data = b"a,b\n" + b"1,2\n" * 20_000 + b"3,\x00\x01\x02\x03\n"
    assert "binary data" in refusal(data)


def test_it_refuses_rows_longer_than_the_header() -> None:
    message = refusal(b"a,b\n1,2\n3,4,5\n")
    assert "Row 3 has 3 fields" in message and "2 columns" in message


def test_it_refuses_duplicate_column_names_after_cleaning() -> None:
    message = refusal(b"price, price\n1,2\n")
    assert "duplicate column names" in message and "'price'" in message


def test_it_refuses_more_columns_than_the_limit() -> None:
    header = ",".join(f"c{i}" for i in range(11))
    message = refusal(f"{header}\n{','.join('1' * 11)}\n".encode(), max_columns=10)
    assert "11 columns" in message and "limit is 10" in message


def test_it_refuses_a_giant_field() -> None:
    message = refusal(b"a,b\n1," + b"x" * 5_000 + b"\n", max_field_chars=1_000)
    assert "longer than 1,000 characters" in message


def test_it_refuses_a_field_larger_than_the_parser_block() -> None:
    message = refusal(b'a,b\n1,"' + b"y" * (3 << 20) + b'"\n', max_field_chars=10_000)
    assert "longer than 10,000 characters" in message


def test_it_counts_a_field_limit_in_characters_not_bytes() -> None:
    df = read(b"a,b\n1," + "é".encode() * 900 + b"\n", max_field_chars=1_000)
    assert df["b"].str.len().tolist() == [900]
    assert "longer than 1,000" in refusal(
        b"a,b\n1," + "é".encode() * 1_001 + b"\n", max_field_chars=1_000
    )


def test_it_refuses_a_nul_character_in_a_quoted_text_field_after_the_first_block() -> None:
    body = b"".join(b'%d,"word %d"\n' % (i, i) for i in range(MANY_ROWS))
    data = b"a,b\n" + body + b'0,"bad\x00word"\n'
    assert "binary data" in refusal(data, max_field_chars=1_000)


def test_it_refuses_more_rows_than_the_limit() -> None:
    assert "limit is 2" in refusal(b"a\n1\n2\n3\n", max_rows=2)


# ---------------------------------------------------------------- sniff_bytes


def test_sniff_accepts_text_heads_in_every_supported_encoding() -> None:
    for head in (b"a,b\n1,2\n", "a;b\né;2\n".encode("utf-16"), "a,b\né,2\n".encode("latin-1")):
        sniff_bytes(head)


def test_sniff_accepts_a_head_cut_inside_a_multibyte_character() -> None:
    sniff_bytes("a,b\nZürich".encode()[:-5])  # ends in the middle of "ü"


@pytest.mark.parametrize(
    ("head", "words"),
    [
        (b"", "empty"),
        (PNG_HEADER, "PNG"),
        (b"%PDF-1.7\n", "PDF"),
        (gzip.compress(b"x"), "gzip"),
        (b"PK\x03\x04\x14\x00", "zip"),
        (b"a,b\n1,\x00\x00\x002\n" * 10, "binary"),
    ],
)
def test_sniff_refuses_non_text_heads(head: bytes, words: str) -> None:
    with pytest.raises(DataError, match=words):
        sniff_bytes(head)


# ---------------------------------------------------------------- parquet


def test_it_round_trips_a_frame_through_parquet() -> None:
    df = read(b"n,s,d,b\n1,x,2020-01-01,true\n2,,2020-01-02,false\n")
    buffer = io.BytesIO()
    write_parquet(df, buffer)
    buffer.seek(0)
    back = read_parquet(buffer)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert back["s"].isna().tolist() == [False, True]


def test_it_writes_parquet_with_dictionaries_for_all_but_float_columns() -> None:
    n = 1_000
    df = pd.DataFrame(
        {
            "x": np.where(np.arange(n) % 7 == 0, np.nan, np.linspace(0, 1, n)),
            "age": np.arange(n) % 60,
            "city": pd.Series(np.where(np.arange(n) % 3 == 0, "Oslo", "Lima"), dtype="str"),
            "flag": np.arange(n) % 2 == 0,
            7: pd.date_range("2024-01-01", periods=n, freq="h"),
        }
    )
    buffer = io.BytesIO()
    write_parquet(df, buffer)
    buffer.seek(0)
    pd.testing.assert_frame_equal(read_parquet(buffer), df.rename(columns=str), check_dtype=False)
    row_group = pq.ParquetFile(buffer).metadata.row_group(0)
    encodings = {
        row_group.column(i).path_in_schema: row_group.column(i).encodings for i in range(5)
    }
    assert not any("DICTIONARY" in e for e in encodings["x"])
    assert all(any("DICTIONARY" in e for e in encodings[name]) for name in ("age", "city", "7"))


def test_it_refuses_a_damaged_parquet_file() -> None:
    with pytest.raises(DataError, match="damaged"):
        read_parquet(io.BytesIO(b"PAR1 not really parquet"))


# ---------------------------------------------------------------- kinds and ids


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([1, 2, 3], "numeric"),
        ([1.5, None, 3.0], "numeric"),
        (["1", "2.5", "-3e2"], "numeric"),
        ([True, False, True], "boolean"),
        (["yes", "no", "Yes"], "boolean"),
        (pd.to_datetime(["2020-01-01", "2021-06-30"]), "datetime"),
        (["2020-01-01", "2021-06-30 12:00:00"], "datetime"),
        (["red", "green", "red", "blue"], "categorical"),
        (pd.Categorical(["a", "b"]), "categorical"),
        ([f"review number {i}: the product arrived late and broken" for i in range(50)], "text"),
        ([None, None], "numeric"),
    ],
)
def test_it_infers_column_kinds(values: object, kind: str) -> None:
    assert column_kind(pd.Series(values)) == kind


def test_it_infers_kinds_of_columns_read_from_csv() -> None:
    df = read(b"n,flag,when,colour\n1.5,yes,2020-01-01,red\n2,no,2020-02-01,blue\n")
    kinds = {name: column_kind(df[name]) for name in df.columns}
    assert kinds == {"n": "numeric", "flag": "boolean", "when": "datetime", "colour": "categorical"}


def test_it_spots_id_like_columns() -> None:
    n = 50
    assert is_id_like(pd.Series(range(1, n + 1), name="row"))  # dense and ordered
    assert is_id_like(pd.Series([f"C{i:05d}" for i in range(n)], name="code"))
    assert is_id_like(pd.Series(np.random.default_rng(0).permutation(n), name="customer_id"))
    assert is_id_like(pd.Series(range(n), name="PassengerId"))


def test_it_does_not_call_measurements_or_names_ids() -> None:
    rng = np.random.default_rng(0)
    assert not is_id_like(pd.Series(rng.normal(size=50), name="height"))
    assert not is_id_like(pd.Series(rng.permutation(1000)[:50] * 7, name="population"))
    assert not is_id_like(pd.Series([f"Person {i}" for i in range(50)], name="name"))
    assert not is_id_like(pd.Series([1, 1, 2, 3] * 10, name="id"))  # repeats: not an id
