"""Exports neutralise spreadsheet formulas (OWASP CSV injection) and keep numbers as numbers."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from analytics.export import DANGEROUS_PREFIXES, neutralise_cell, sanitise_frame, to_csv_bytes, to_excel_bytes

FRAME = pd.DataFrame(
    {
        "name": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTab", "\rcr", "\nlf", "Anna", "<script>"],
        "amount": [-5.0, 1, 2, 3, 4, 5, 6, 7, 8],
    }
)


def test_every_dangerous_prefix_gets_an_apostrophe():
    out = sanitise_frame(FRAME)
    assert out["name"].tolist()[:7] == ["'" + v for v in FRAME["name"].tolist()[:7]]
    assert out["name"].tolist()[7:] == ["Anna", "<script>"]


def test_numbers_stay_numbers_and_input_is_not_mutated():
    out = sanitise_frame(FRAME)
    assert out["amount"].tolist() == FRAME["amount"].tolist()
    assert FRAME["name"].iloc[0].startswith("=")


def test_csv_bytes_are_sanitised():
    text = to_csv_bytes(FRAME).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert all(not v.startswith(DANGEROUS_PREFIXES) for v in back["name"])
    assert back["amount"].iloc[0] == -5


def test_excel_cells_are_text_not_formulas():
    book = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(FRAME)))
    sheet = book.active
    values = [sheet.cell(row=r, column=1).value for r in range(2, 2 + len(FRAME))]
    assert values[0] == '\'=HYPERLINK("http://x")'
    assert all(sheet.cell(row=r, column=1).data_type != "f" for r in range(2, 2 + len(FRAME)))
    assert sheet.cell(row=2, column=2).value == -5


def test_column_names_are_neutralised_too():
    out = sanitise_frame(pd.DataFrame({"=cmd": [1]}))
    assert list(out.columns) == ["'=cmd"]


@given(st.text())
def test_no_text_leaves_with_a_dangerous_first_character(text):
    cleaned = neutralise_cell(text)
    assert not cleaned.startswith(DANGEROUS_PREFIXES)
    assert cleaned.endswith(text)
