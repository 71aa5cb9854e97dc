"""Read uploaded CSV files into DataFrames safely and store them as Parquet.

Column kinds are ml.kinds' (re-exported here for callers of this module)."""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any as _AnyFile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ml.errors import DataError
from ml.kinds import (  # noqa: F401 - re-exported
    FALSE_WORDS,
    MAX_NUMBER_CHARS,
    SAMPLE_SIZE,
    TRUE_WORDS,
    column_kind,
    id_like,
    is_date_like,
    is_id_like,
    is_number,
    kind_from_dtype,
    kind_of_uniques,
)

HEAD_BYTES = 64 * 1024
# A header row longer than this is not a table a person uploaded on purpose.
MAX_HEAD_BYTES = 8 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

_MAGIC_NUMBERS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook)"),
    (b"PK\x05\x06", "a zip archive"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Excel or Office document"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "a program"),
)
_BZIP2 = re.compile(rb"^BZh[1-9]1AY&SY")
# Control characters other than tab, newlines, form feed: none belong in a CSV.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_COMMA_NUMBER = re.compile(r"[-+]?\d+,\d+")
_POINT_NUMBER = re.compile(r"[-+]?\d+\.\d+")
@dataclass(frozen=True)
class CsvLimits:
    """Limits that protect the worker from hostile or accidental giant inputs."""

    max_columns: int = 10_000
    max_field_chars: int = 1_000_000
    max_rows: int | None = None

# Any binary file object: open(..., "rb"), io.BytesIO, a Django storage File (whose type
# no protocol of typing covers).
BinaryIO = _AnyFile


@dataclass(frozen=True)
class _Layout:
    """What the head of the file says about the whole of it."""

    encoding: str
    delimiter: str
    names: list[str]
    has_header: bool
    decimal: str = "."


class _NotUtf8(Exception):
    """pyarrow found bytes that are not UTF-8 past the sniffed head."""


# ---------------------------------------------------------------- sniffing


def sniff_bytes(head: bytes) -> None:
    """Raise DataError if these first bytes of a file are not CSV text."""
    if not head:
        raise DataError("The file is empty.")
    for magic, what in _MAGIC_NUMBERS:
        if head.startswith(magic):
            raise DataError(_not_csv(what))
    if _BZIP2.match(head):
        raise DataError(_not_csv("a bzip2-compressed file"))
    encoding = _detect_encoding(head)
    _check_text(_decode_head(head, encoding, final=False))


def _not_csv(what: str) -> str:
    return (
        f"This file is {what}, not a CSV text file. Nothing is unpacked automatically: "
        "upload the plain .csv file."
    )


def _binary_error() -> DataError:
    return DataError(
        "The file contains binary data, not text. Upload a CSV file saved as plain text "
        "(UTF-8, UTF-16 or Latin-1)."
    )


def _detect_encoding(head: bytes) -> str:
    """Return the Python codec name for the file, from its BOM or its first bytes."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if b"\x00" in head:
        return _utf16_without_bom(head)
    if _decodes(head, "utf-8"):
        return "utf-8"
    # Windows-1252 is what "Latin-1" files mostly are; it lacks five bytes, Latin-1 has all.
    return "cp1252" if _decodes(head, "cp1252") else "latin-1"


def _utf16_without_bom(head: bytes) -> str:
    """Recognise BOM-less UTF-16 by its NUL bytes in every other position, else refuse."""
    even, odd = head[0::2], head[1::2]
    if odd and odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even and even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    raise _binary_error()


def _decodes(head: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _decode_head(head: bytes, encoding: str, *, final: bool) -> str:
    """Decode the head, tolerating a character cut in half at its end."""
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(head, final=final)
    except UnicodeDecodeError as exc:
        raise _binary_error() from exc
    return text.lstrip("\ufeff")


def _check_text(text: str) -> None:
    """Refuse text whose control characters show it is really binary."""
    if "\x00" in text or len(_CONTROL.findall(text[:HEAD_BYTES])) > 0.01 * max(len(text), 1):
        raise _binary_error()


# ---------------------------------------------------------------- layout


def _read_head(fileobj: BinaryIO) -> tuple[bytes, bool]:
    """Read enough of the file for two lines (at most MAX_HEAD_BYTES); say if it is all."""
    head = fileobj.read(HEAD_BYTES)
    size = HEAD_BYTES
    while len(head) == size and size < MAX_HEAD_BYTES and _line_breaks(head) < 2:
        more = fileobj.read(size)
        head += more
        size *= 2
    return head, len(head) < size


def _line_breaks(data: bytes) -> int:
    return max(data.count(b"\n"), data.count(b"\r"))


def _sniff_layout(head: bytes, whole: bool, limits: CsvLimits) -> _Layout:
    """Work out encoding, delimiter and header names from the head of the file."""
    sniff_bytes(head)
    encoding = _detect_encoding(head)
    text = _decode_head(head, encoding, final=whole)
    if not text.strip():
        raise DataError("The file has no columns: it holds only blank lines.")
    if not whole:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut <= 0:
            raise DataError(
                "The first line is longer than 8 MiB; this does not look like a CSV table."
            )
        text = text[:cut]
    delimiter = _sniff_delimiter(text)
    rows = _rows(text, delimiter, limit=100)
    names, has_header = _header_names(rows)
    _check_names(names, limits)
    return _Layout(encoding, delimiter, names, has_header, _sniff_decimal(rows, delimiter))


def _rows(text: str, delimiter: str, *, limit: int) -> list[list[str]]:
    """Parse up to `limit` non-blank rows of the head with the csv module."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error as exc:
        # The csv module caps fields at 128 KiB; a few whole rows are enough to sniff.
        if "field limit" not in str(exc):
            raise DataError(f"The file is not valid CSV text: {exc}.") from exc
        if not rows:
            raise DataError(
                "A header cell is longer than 128 KiB; this is not a CSV table."
            ) from exc
    return rows


def _sniff_delimiter(text: str) -> str:
    """Pick the delimiter whose field count is most consistent with the first row's."""
    best, best_score = ",", (0.0, 1)
    for delimiter in DELIMITERS:
        rows = _rows(text, delimiter, limit=100)
        width = len(rows[0]) if rows else 0
        if width < 2:
            continue
        consistency = sum(len(row) == width for row in rows) / len(rows)
        score = (round(consistency, 2), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _sniff_decimal(rows: list[list[str]], delimiter: str) -> str:
    """Use a decimal comma where the delimiter allows it and numbers are written "1,5"."""
    if delimiter == ",":
        return "."
    cells = [cell.strip() for row in rows[1:] for cell in row]
    cells = [cell for cell in cells if len(cell) <= MAX_NUMBER_CHARS]
    commas = sum(bool(_COMMA_NUMBER.fullmatch(cell)) for cell in cells)
    points = sum(bool(_POINT_NUMBER.fullmatch(cell)) for cell in cells)
    return "," if commas and not points else "."


def _header_names(rows: list[list[str]]) -> tuple[list[str], bool]:
    """Return cleaned column names and whether the first row is a header."""
    first = rows[0]
    if _looks_like_data(first):
        return [f"column_{i}" for i in range(1, len(first) + 1)], False
    return [_clean_name(name, i) for i, name in enumerate(first, start=1)], True


def _looks_like_data(row: list[str]) -> bool:
    """A first row of numbers that cannot be names (repeats or fractions) is data."""
    try:
        numbers = [float(cell) for cell in row]
    except ValueError:
        return False
    # Distinct whole numbers (like years 2019, 2020) are plausible column names.
    return len(set(numbers)) < len(numbers) or any(not n.is_integer() for n in numbers)


def _clean_name(name: str, position: int) -> str:
    name = name.replace("\ufeff", "").strip()
    return name or f"column_{position}"


def _check_names(names: list[str], limits: CsvLimits) -> None:
    if len(names) > limits.max_columns:
        raise DataError(
            f"The file has {len(names):,} columns; the limit is {limits.max_columns:,}."
        )
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise DataError(
                f"The header has duplicate column names: {name!r} is both column "
                f"{seen[name]} and column {position}. Give every column a unique name."
            )
        seen[name] = position


# ---------------------------------------------------------------- parsing


def read_csv(fileobj: BinaryIO, *, limits: CsvLimits | None = None) -> pd.DataFrame:
    """Read a CSV file object into a DataFrame, or raise DataError saying what is wrong."""
    limits = limits or CsvLimits()
    stream = _seekable(fileobj)
    start = stream.tell()
    head, whole = _read_head(stream)
    layout = _sniff_layout(head, whole, limits)
    try:
        df = _parse(stream, start, layout, limits)
    except _NotUtf8:
        # The head was UTF-8 but later bytes are not: such files are Windows-1252/Latin-1.
        df = _parse(stream, start, _latin1(layout, head), limits)
    return _check_frame(df, limits)


def _parse(stream: BinaryIO, start: int, layout: _Layout, limits: CsvLimits) -> pd.DataFrame:
    """Parse with pyarrow; fall back to pandas' C engine for what pyarrow refuses."""
    try:
        return _parse_with_arrow(stream, start, layout, limits)
    except pa.ArrowInvalid:
        # Ragged but repairable rows, rows longer than a block: pandas' C parser copes.
        return _parse_with_pandas(stream, start, layout)


def _seekable(fileobj: BinaryIO) -> BinaryIO:
    """Return a seekable file: the fallback parsers must read the file again."""
    if fileobj.seekable():
        return fileobj
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
    shutil.copyfileobj(fileobj, spool)
    spool.seek(0)
    return spool


def _latin1(layout: _Layout, head: bytes) -> _Layout:
    encoding = "cp1252" if _decodes(head, "cp1252") else "latin-1"
    return _Layout(encoding, layout.delimiter, layout.names, layout.has_header, layout.decimal)


def _parse_with_arrow(
    stream: BinaryIO, start: int, layout: _Layout, limits: CsvLimits
) -> pd.DataFrame:
    """Parse the file with pyarrow block by block, or whole where types change mid-file."""
    encoding = "utf8" if layout.encoding.startswith("utf-8") else layout.encoding
    options = (
        pacsv.ReadOptions(
            encoding=encoding,
            block_size=_block_size(limits),
            column_names=None if layout.has_header else layout.names,
        ),
        pacsv.ParseOptions(delimiter=layout.delimiter, newlines_in_values=True),
        pacsv.ConvertOptions(strings_can_be_null=True, decimal_point=layout.decimal),
    )
    try:
        table = _read_streaming(stream, start, options)
    except pa.ArrowInvalid:
        # The streaming reader fixes column types from the first block; the whole-file reader
        # widens them when a later block disagrees (an "n/a" after 10 MB of numbers).
        stream.seek(start)
        table = pacsv.read_csv(stream, *options)
    if table.num_columns != len(layout.names):
        raise DataError("The header and the rows disagree on the number of columns.")
    table = table.rename_columns(layout.names)
    table = _normalise_types(table, layout.encoding)
    return table.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)


def _read_streaming(stream: BinaryIO, start: int, options: tuple) -> pa.Table:
    """Read all record batches; a block's parse buffers are freed before the next is read."""
    # The whole-file reader keeps every block's buffers until the end: about 3x the file
    # size at its peak, against about 2x here, at the same speed.
    stream.seek(start)
    reader = pacsv.open_csv(stream, *options)
    try:
        return pa.Table.from_batches(list(reader), schema=reader.schema)
    finally:
        reader.close()


def _block_size(limits: CsvLimits) -> int:
    # A field must fit in one block; UTF-8 needs at most 4 bytes a character.
    return int(min(max(1 << 20, 4 * limits.max_field_chars + (1 << 16)), 64 << 20))


def _normalise_types(table: pa.Table, encoding: str) -> pa.Table:
    """Cast all-empty columns to float and dates to timestamps; spot non-UTF-8 bytes."""
    for i, field in enumerate(table.schema):
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            if encoding.startswith("utf-8"):
                raise _NotUtf8()
            raise _binary_error()
        if pa.types.is_null(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.float64()))
        elif pa.types.is_date(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.timestamp("s")))
    return table


def _parse_with_pandas(stream: BinaryIO, start: int, layout: _Layout) -> pd.DataFrame:
    """Parse with pandas' C engine, which pads short rows and drops trailing empty fields."""
    stream.seek(start)
    try:
        with warnings.catch_warnings():
            # pandas only warns when it drops the extra fields of a long row: that is data loss.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                stream,
                sep=layout.delimiter,
                decimal=layout.decimal,
                encoding=layout.encoding,
                header=0 if layout.has_header else None,
                names=layout.names,
                index_col=False,
                low_memory=False,
                on_bad_lines="error",
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise DataError(_ragged_message(str(exc), len(layout.names))) from exc
    except UnicodeDecodeError as exc:
        if layout.encoding.startswith("utf-8"):
            raise _NotUtf8() from exc
        raise DataError(
            f"The file is not valid {layout.encoding} text near byte {exc.start:,}."
        ) from exc


def _ragged_message(detail: str, width: int) -> str:
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail)
    if match:
        expected, line, seen = match.groups()
        return (
            f"Row {line} has {seen} fields but the header has {expected} columns. "
            "Check the delimiter and quoting of that row."
        )
    return (
        f"Some rows have more fields than the {width} columns of the header; "
        "the rows are ragged and cannot be repaired."
    )


def _check_frame(df: pd.DataFrame, limits: CsvLimits) -> pd.DataFrame:
    """Refuse frames with no rows, too many rows, giant fields or NUL characters."""
    if len(df) == 0:
        raise DataError("The file has a header but no data rows.")
    if limits.max_rows is not None and len(df) > limits.max_rows:
        raise DataError(f"The file has {len(df):,} rows; the limit is {limits.max_rows:,}.")
    for position, dtype in enumerate(df.dtypes):
        if not (pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)):
            continue
        too_long, has_nul = _text_problems(df.iloc[:, position], limits.max_field_chars)
        if too_long:
            raise DataError(
                f"A value in column {df.columns[position]!r} is longer than "
                f"{limits.max_field_chars:,} characters; that is not tabular data."
            )
        if has_nul:
            raise _binary_error()
    return df


def _text_problems(series: pd.Series, max_chars: int) -> tuple[bool, bool]:
    """Say whether a text column has a value over max_chars, and one with a NUL character."""
    values = pa.array(series.array) if hasattr(series.array, "__arrow_array__") else None
    if values is None or not _plain_strings(values.type):  # Python objects
        text = series.dropna().astype(str)
        if text.empty:
            return False, False
        too_long = text.str.len().max() > max_chars
        return bool(too_long), bool(text.str.contains("\x00", regex=False).any())
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    problems = [_chunk_problems(chunk, max_chars) for chunk in chunks]
    return any(long for long, _ in problems), any(nul for _, nul in problems)


def _plain_strings(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _chunk_problems(chunk: pa.Array, max_chars: int) -> tuple[bool, bool]:
    """Check one Arrow string chunk from its offsets and bytes, without a per-value step."""
    if len(chunk) == 0 or chunk.null_count == len(chunk):
        return False, False
    offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    _, offsets_buffer, data_buffer = chunk.buffers()
    offsets = np.frombuffer(offsets_buffer, offset_type)
    offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
    # A value's byte length bounds its length in characters; count characters only above it.
    too_long = int(np.diff(offsets).max()) > max_chars and (
        pc.max(pc.utf8_length(chunk)).as_py() > max_chars
    )
    if data_buffer is None or offsets[-1] == offsets[0]:
        return bool(too_long), False
    data = np.frombuffer(data_buffer, np.uint8)[offsets[0] : offsets[-1]]
    return bool(too_long), bool(np.any(data == 0))


# ---------------------------------------------------------------- parquet


def write_parquet(df: pd.DataFrame, fileobj: BinaryIO) -> None:
    """Write the frame as Parquet (no index) to an open binary file."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    # Dictionary-encoding measured floats (nearly all distinct) is wasted work: it is half the
    # writing time, then abandoned for plain encoding. Other columns keep it.
    dictionary = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    pq.write_table(table, fileobj, use_dictionary=dictionary)


def read_parquet(fileobj: BinaryIO, *, columns: list[str] | None = None,
                 max_rows: int | None = None) -> pd.DataFrame:
    """Read a Parquet file object written by write_parquet: only `columns` when given, and at
    most the first `max_rows` rows when given (read batch by batch, never the whole file)."""
    try:
        if max_rows is None:
            table = pq.read_table(fileobj, columns=columns)
        else:
            parquet = pq.ParquetFile(fileobj)
            batches, n = [], 0
            for batch in parquet.iter_batches(batch_size=min(max_rows, 65_536),
                                              columns=columns):
                batches.append(batch.slice(0, max_rows - n))
                n += len(batches[-1])
                if n >= max_rows:
                    break
            table = (pa.Table.from_batches(batches) if batches
                     else parquet.schema_arrow.empty_table())
            if columns is not None and not batches:
                table = table.select(columns)
    except (pa.ArrowException, OSError, KeyError) as exc:
        raise DataError("The stored dataset file is damaged or is not Parquet.") from exc
    return table.to_pandas(split_blocks=True, self_destruct=True)
