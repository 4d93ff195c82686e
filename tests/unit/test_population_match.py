"""Population-database matching's pure parts: name comparison, per-field answers, the reference registry's
deliberate mismatches and the batch file format."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.adapters.population.batch_file import BatchRequestWriter, read_answers, read_requests, write_answers
from subreg.adapters.population.reference import DeliberateRates, MirrorReferenceRegistry, deliberate
from subreg.domain.common.errors import InputError
from subreg.domain.verification.population import (
    FieldResult,
    PopulationAnswer,
    PopulationQuery,
    compare,
    normalize_name,
    same_name,
)

M, MM, NF = FieldResult.MATCH, FieldResult.MISMATCH, FieldResult.NOT_FOUND
names = st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạếềểễệốồổỗộớờởỡợúùủũụứừửữự ", min_size=1, max_size=30)


@given(names)
def test_nfc_case_and_spacing_do_not_count(name: str) -> None:
    decomposed = unicodedata.normalize("NFD", name)
    assert same_name(name, "  " + decomposed.upper().replace(" ", "   ") + " ")


@given(names)
def test_normalize_name_is_idempotent(name: str) -> None:
    assert normalize_name(normalize_name(name)) == normalize_name(name)


def test_diacritics_count() -> None:
    assert not same_name("Nguyễn Văn An", "Nguyen Van An")
    assert not same_name("Lê Thị Hoa", "Lệ Thị Hoa")
    assert same_name("ĐỖ ĐỨC   Duy", "đỗ đức duy")


def test_compare_per_field() -> None:
    q = PopulationQuery(9, "079190123456", "Nguyễn Thị Ánh", "1990-05-17")
    assert compare(q, ("nguyễn thị ánh", "1990-05-17")) == PopulationAnswer(9, M, M, M)
    assert compare(q, ("Nguyễn Thị Anh", "1990-05-17")) == PopulationAnswer(9, M, MM, M)
    assert compare(q, ("Nguyễn Thị Ánh", "1990-05-18")) == PopulationAnswer(9, M, M, MM)
    assert compare(q, None) == PopulationAnswer(9, NF, NF, NF)
    assert compare(PopulationQuery(9, "1", "A", "1990"), ("A", "1990-05-17")).matched
    assert not compare(q, None).matched


def test_deliberate_shares_are_close_to_the_rates() -> None:
    rates = DeliberateRates()
    n = 100_000
    kinds = [deliberate(f"{i:012d}", rates) for i in range(n)]
    assert abs(kinds.count("unknown") / n - 0.005) < 0.0015
    assert abs(kinds.count("name") / n - 0.02) < 0.003
    assert abs(kinds.count("birth") / n - 0.01) < 0.002


@given(st.integers(min_value=0, max_value=10**12 - 1), names)
def test_the_mirror_registry_answers_by_its_deliberate_rule(number: int, name: str) -> None:
    rates = DeliberateRates(unknown=0.2, name=0.2, birth=0.2, seed=1)
    q = PopulationQuery(1, f"{number:012d}", name, "1990-05-17")
    answer = MirrorReferenceRegistry(rates).match([q])[0]
    expected = {None: (M, M, M), "unknown": (NF, NF, NF), "name": (M, MM, M), "birth": (M, M, MM)}
    assert (answer.id_number, answer.full_name, answer.date_of_birth) == expected[deliberate(q.id_number, rates)]


def test_batch_files_round_trip(tmp_path: Path) -> None:
    queries = [PopulationQuery(1, "079190123456", 'Nguyễn, "Ánh"', "1990-05-17"), PopulationQuery(2, "1", "B", "1990")]
    with BatchRequestWriter(tmp_path / "r.csv") as w:
        w.write(queries)
    assert read_requests(tmp_path / "r.csv") == queries
    answers = [PopulationAnswer(1, M, MM, M), PopulationAnswer(2, NF, NF, NF)]
    write_answers(tmp_path / "a.csv", answers)
    assert read_answers(tmp_path / "a.csv") == answers


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("ref,id\n", "batch_in.header"),
        ("ref,id_number,full_name,date_of_birth\n1,match,yes,match\n", "batch_in.line[2].full_name"),
        ("ref,id_number,full_name,date_of_birth\n1,match,match\n", "batch_in.line[2]"),
        ("ref,id_number,full_name,date_of_birth\n-1,match,match,match\n", "batch_in.line[2].ref"),
        ("ref,id_number,full_name,date_of_birth\n1,match,match,match\n1,match,match,match\n", "batch_in.line[3].ref"),
    ],
)
def test_a_bad_answer_file_names_the_line_and_column(tmp_path: Path, content: str, field: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_answers(path)
    assert field in [e.field for e in caught.value.errors]
