"""Tests for scripts/agreement_ratings_file.py: its three CSV readers (the csv module for small
files, pyarrow for large ones, pandas without pyarrow) give the same ratings, and the numpy
encodings of unit identifiers group them exactly."""

from __future__ import annotations

import pytest

from scripts import agreement as ag
from scripts import agreement_ratings as ratings_table
from scripts import agreement_ratings_file as ratings_file


def test_the_three_csv_readers_agree(tmp_path):
    """csv module (small files), pyarrow (large files), pandas (no pyarrow): same matrix."""
    path = tmp_path / "r.csv"
    path.write_text(
        "unit,coder,value,memo\nu1,a,low,x\nu1,b,low,\n u2 ,a,high,\nu2,b,,\nu3,a,mid,\nu3,b,high,\n"
        "007,a,low,\n7,b,low,\n",
        encoding="utf-8",
    )
    names = ["unit", "coder", "value", "memo"]
    for reader in (
        ratings_file._read_columns_stdlib,
        ratings_file._read_columns_arrow,
        ratings_file._read_columns_pandas,
    ):
        units, coders, coder_labels, values, value_labels = reader(path, names)
        ratings = ratings_table.build_ratings(
            units,
            coders,
            coder_labels,
            values,
            value_labels,
            level="ordinal",
            order=["low", "mid", "high"],
            source=path,
        )
        result = ag.agreement(ratings, weights="linear")
        assert (result.n_units, result.n_units_pairable, result.n_coders) == (5, 2, 2), reader
        assert result.percent_agreement == 0.5 and result.percent_agreement_weighted == 0.75, reader


@pytest.mark.parametrize(
    "ids",
    [
        ["s001", "s010", "s100", "s001", "s999"],  # fixed width, digits vary
        ["int03_seg0042", "int03_seg0043", "int04_seg0042", "int03_seg0042"],
        ["007", "070", "700", "007"],  # zero-padded: fixed-width path, "007" != "7"
        ["007", "7", "70", "7"],  # mixed widths: falls back to exact string grouping
        ["-1", "10", "-1", "3", "123456789012"],  # canonical integers
        ["ab", "ac", "ab", "b2"],  # varying letters: string grouping
        [" 1", "01", "1", "1 "],  # spaces: stripped string grouping (" 1" = "1" = "1 ")
        ["é1", "é2", "é1"],  # multi-byte characters in the constant part
        ["x"] * 3,  # a single unit
    ],
)
def test_unit_identifier_encodings_group_exactly(ids):
    import pyarrow as pa

    codes = ratings_file._encode_units_arrow(pa.array(ids, pa.string()))
    groups: dict[str, int] = {}
    expected = [groups.setdefault(i.strip(), len(groups)) for i in ids]
    # same partition of the rows (codes may be numbered differently), dense codes
    pairs = set(zip(codes.tolist(), expected))
    assert len(pairs) == len(set(expected)) == len(set(codes.tolist()))
    assert sorted(set(codes.tolist())) == list(range(len(set(expected))))
