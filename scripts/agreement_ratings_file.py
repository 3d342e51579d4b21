"""Reading a ratings file: a CSV with the header unit,coder,value (extra columns ignored) into
the coders x units matrix of scripts/agreement_ratings.py.

Small files are read with Python's csv module (importing pyarrow costs more than reading them);
larger ones with pyarrow's multi-threaded CSV reader, or pandas' where pyarrow is not installed.
Unit identifiers of large files are encoded in numpy where their shape allows it (exactly: see
:func:`_encode_units_arrow`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scripts.agreement_coefficients import Level, check_level
from scripts.agreement_ratings import (
    REQUIRED_COLUMNS,
    Ratings,
    build_ratings,
    clean_identifiers,
    join_words,
    parse_order,
    relabel,
)
from scripts.errors import InputFormatError

#: Files up to this size are read with the csv module (importing pyarrow costs ~0.2 s).
_SMALL_FILE_BYTES = 1_000_000


def _read_header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except FileNotFoundError:
        raise InputFormatError(
            path, "the ratings file does not exist", "Check the path given to --ratings"
        ) from None
    except UnicodeDecodeError:
        raise InputFormatError(
            path, "the ratings file is not UTF-8 text", "Save it as UTF-8 CSV", 1
        ) from None
    except (OSError, csv.Error) as exc:
        raise InputFormatError(
            path, f"the ratings file cannot be read ({type(exc).__name__})", "Check the file", 1
        ) from None
    if not header:
        raise InputFormatError(
            path,
            "the ratings file is empty or its first line is blank",
            "Start the file with the header unit,coder,value",
            1,
        )
    names = [h.strip() for h in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise InputFormatError(
            path,
            f"the header has no column {join_words(missing)}",
            "Start the file with the header unit,coder,value (one row per rating)",
            1,
        )
    twice = [name for name in REQUIRED_COLUMNS if names.count(name) > 1]
    if twice:
        raise InputFormatError(
            path,
            f"the header names the column {join_words(twice)} more than once",
            "Keep one column each of unit, coder, value",
            1,
        )
    return names


def _locate_bad_row(path: Path, width: int) -> int | None:
    """Physical line of the first record whose field count differs from the header's."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            previous_end = 0
            for record in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if record and len(record) != width:
                    return start
    except UnicodeDecodeError:
        return None
    except csv.Error:
        return previous_end + 1
    return None


def _arrow_ints(indices: Any) -> np.ndarray:
    """int64 numpy copy of an Arrow integer array, nulls as -1.

    Reads the buffers directly: pyarrow's ``to_numpy``/``fill_null`` import pandas (0.4 s).
    """
    n = len(indices)
    width = indices.type.bit_width // 8
    validity, data = indices.buffers()[:2]
    values = np.frombuffer(data, dtype=f"<i{width}", count=n, offset=indices.offset * width)
    values = values.astype(np.int64)
    if indices.null_count and validity is not None:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        valid = bits[indices.offset : indices.offset + n].astype(bool)
        values[~valid] = -1
    return values


def _read_columns_arrow(path: Path, names: list[str]):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    column_names = [f"c{i}" for i in range(len(names))]
    wanted = {name: column_names[names.index(name)] for name in REQUIRED_COLUMNS}
    # coder and value have few distinct labels: let the (multi-threaded) parser dictionary-encode
    # them per block; unit identifiers are read as text and encoded below
    small = pa.dictionary(pa.int32(), pa.string())
    types = {"unit": pa.string(), "coder": small, "value": small}
    convert = pcsv.ConvertOptions(
        column_types={wanted[name]: types[name] for name in REQUIRED_COLUMNS},
        include_columns=[wanted[name] for name in REQUIRED_COLUMNS],
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    last_error: Exception | None = None
    for newlines_in_values in (False, True):
        read = pcsv.ReadOptions(skip_rows=1, column_names=column_names, encoding="utf8")
        parse = pcsv.ParseOptions(newlines_in_values=newlines_in_values)
        try:
            table = pcsv.read_csv(
                path, read_options=read, parse_options=parse, convert_options=convert
            )
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            last_error = exc
    else:
        line = _locate_bad_row(path, len(names))
        if line is not None:
            raise InputFormatError(
                path,
                f"the row does not have the {len(names)} columns of the header",
                "Quote values that contain commas and give every row the header's columns",
                line,
            ) from None
        raise InputFormatError(
            path,
            f"the file cannot be parsed as UTF-8 CSV ({type(last_error).__name__})",
            "Save it as UTF-8 CSV with the header unit,coder,value",
        ) from None

    table = table.unify_dictionaries()

    def column(name: str) -> Any:
        data = table[wanted[name]]
        return data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data

    def encode(name: str) -> tuple[np.ndarray, list[Any]]:
        encoded = column(name)
        if not pa.types.is_dictionary(encoded.type):
            encoded = encoded.dictionary_encode()
        return _arrow_ints(encoded.indices), encoded.dictionary.to_pylist()

    unit_codes = _encode_units_arrow(column("unit"))
    coder_codes, coder_labels = encode("coder")
    value_codes, value_labels = encode("value")
    return unit_codes, coder_codes, coder_labels, value_codes, value_labels


_POWERS_OF_TEN = 10 ** np.arange(1, 19, dtype=np.int64)


def _factorize_ints(x: np.ndarray) -> np.ndarray:
    """Dense codes 0..k-1 for an integer array (direct addressing when the range is small)."""
    if x.size == 0:
        return x.astype(np.int64)
    low, high = int(x.min()), int(x.max())
    span = high - low + 1
    if span <= max(4 * x.size, 1 << 20):
        offset = (x - x.dtype.type(low)) if low else x
        present = np.zeros(span, dtype=bool)
        present[offset] = True
        rank = np.cumsum(present, dtype=np.int32 if span < 2**31 else np.int64)
        rank -= 1
        return rank[offset]
    return np.unique(x, return_inverse=True)[1].reshape(-1)


def _encode_fixed_width(array: Any) -> np.ndarray | None:
    """Unit codes for identifiers of equal byte length whose varying positions are all digits.

    E.g. "seg0000001", "int03_s0042", "0017". The positions that are the same in every
    identifier are dropped and the remaining digits read as one integer: equal strings give
    equal integers and different strings different integers, so the grouping is exact.
    Returns None when the identifiers do not have this shape.
    """
    n = len(array)
    validity, offsets_buffer, data_buffer = array.buffers()[:3]
    if n == 0 or data_buffer is None:
        return None
    offsets = np.frombuffer(offsets_buffer, dtype="<i4", count=n + 1, offset=array.offset * 4)
    width = int(offsets[1] - offsets[0])
    if width == 0 or int(offsets[-1] - offsets[0]) != n * width:
        return None
    if not np.all(np.diff(offsets) == width):
        return None
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    matrix = data[offsets[0] : offsets[0] + n * width].reshape(n, width)
    # loops below run over character positions, not over units
    varying = [j for j in range(width) if not (matrix[:, j] == matrix[0, j]).all()]
    if len(varying) > 18:
        return None
    number = np.zeros(n, dtype=np.int32 if len(varying) <= 9 else np.int64)
    for column in varying:
        digit = matrix[:, column] - np.uint8(48)  # wraps around for bytes below "0"
        if digit.max() > 9:
            return None
        number *= 10
        number += digit
    return _factorize_ints(number)


def _encode_units_arrow(array: Any) -> np.ndarray:
    """Unit codes from an Arrow string array (-1 = blank).

    Fast paths, both exact: identifiers of equal length whose varying characters are digits
    (:func:`_encode_fixed_width`), and canonical decimal integers ("7", "-3", "120"; no '+',
    no leading zeros, no spaces, checked by comparing string lengths with the digits of the
    parsed number, so "007" and "7" stay different units), factorized in numpy.
    Otherwise Arrow's dictionary encoding, with identifiers stripped of surrounding spaces.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(array)
    if n and array.null_count == 0:
        fixed = _encode_fixed_width(array)
        if fixed is not None:
            return fixed
        head = array.slice(0, min(n, 256))
        if pc.all(pc.match_substring_regex(head, r"^-?[0-9]{1,18}$")).as_py():
            try:
                ints = pc.cast(array, pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                ints = None
            if ints is not None:
                x = _arrow_ints(ints)
                width = 1 + np.searchsorted(_POWERS_OF_TEN, np.abs(x), side="right") + (x < 0)
                if np.array_equal(_arrow_ints(pc.binary_length(array)), width):
                    return _factorize_ints(x)
    encoded = array.dictionary_encode()
    codes = _arrow_ints(encoded.indices)
    dictionary = encoded.dictionary
    if (
        len(dictionary)
        and pc.any(pc.not_equal(pc.utf8_trim_whitespace(dictionary), dictionary)).as_py()
    ):
        remap, _ = clean_identifiers(dictionary.to_pylist())
        codes = relabel(codes, remap).astype(np.int64)
    return codes


def _read_columns_stdlib(path: Path, names: list[str]):
    """Small files: Python's csv module (cheaper than importing pyarrow)."""
    iu, ic, iv = (names.index(name) for name in REQUIRED_COLUMNS)
    units: dict[str, int] = {}
    coders: dict[str, int] = {}
    values: dict[str, int] = {}
    unit_codes: list[int] = []
    coder_codes: list[int] = []
    value_codes: list[int] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            next(reader, None)  # header, checked by _read_header
            previous_end = reader.line_num
            for record in reader:
                start, previous_end = previous_end + 1, reader.line_num
                if not record:
                    continue
                if len(record) != len(names):
                    raise InputFormatError(
                        path,
                        f"the row does not have the {len(names)} columns of the header",
                        "Quote values that contain commas and give every row the header's columns",
                        start,
                    )
                unit = record[iu].strip()
                unit_codes.append(units.setdefault(unit, len(units)) if unit else -1)
                coder_codes.append(coders.setdefault(record[ic], len(coders)))
                value = record[iv]
                value_codes.append(values.setdefault(value, len(values)) if value else -1)
    except UnicodeDecodeError:
        raise InputFormatError(
            path, "the ratings file is not UTF-8 text", "Save it as UTF-8 CSV"
        ) from None
    except csv.Error as exc:
        raise InputFormatError(
            path,
            f"the file cannot be parsed as CSV ({type(exc).__name__})",
            "Check the quoting of the values",
        ) from None
    as_array = lambda items: np.asarray(items, dtype=np.int64)  # noqa: E731
    return (
        as_array(unit_codes),
        as_array(coder_codes),
        list(coders),
        as_array(value_codes),
        list(values),
    )


def _read_columns_pandas(path: Path, names: list[str]):
    import pandas as pd

    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            skipinitialspace=False,
        )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError):
        line = _locate_bad_row(path, len(names))
        raise InputFormatError(
            path,
            "the file cannot be parsed as CSV with the header's columns",
            "Quote values that contain commas and give every row the header's columns",
            line,
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    units = frame["unit"].str.strip().replace("", None)
    unit_codes, _ = pd.factorize(units, use_na_sentinel=True)
    coder_codes, coder_dictionary = pd.factorize(frame["coder"], use_na_sentinel=True)
    value_codes, value_dictionary = pd.factorize(frame["value"], use_na_sentinel=True)
    return unit_codes, coder_codes, list(coder_dictionary), value_codes, list(value_dictionary)


def read_ratings(
    path: str | Path, level: Level = "nominal", order: str | Sequence[str] | None = None
) -> Ratings:
    """Read a long CSV (header unit,coder,value; extra columns ignored) into :class:`Ratings`.

    Files up to ``_SMALL_FILE_BYTES`` are read with the csv module. Larger files use
    pyarrow's multi-threaded CSV reader (the engine behind ``pandas.read_csv(engine=
    "pyarrow")``) with every column read as text, then dictionary-encodes the columns; falls back
    to pandas' C parser when pyarrow is not installed.
    """
    path = Path(path)
    check_level(level, None, path)
    names = _read_header(path)
    if path.stat().st_size <= _SMALL_FILE_BYTES:
        columns = _read_columns_stdlib(path, names)
    else:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            columns = _read_columns_pandas(path, names)
        else:
            columns = _read_columns_arrow(path, names)
    unit_codes, coder_codes, coder_labels, value_codes, value_labels = columns
    return build_ratings(
        unit_codes,
        coder_codes,
        coder_labels,
        value_codes,
        value_labels,
        level=level,
        order=parse_order(order, path),
        source=path,
        source_is_csv=True,
    )
