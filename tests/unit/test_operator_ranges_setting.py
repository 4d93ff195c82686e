"""The `operator_ranges` setting: split at its commas, validated when the application starts."""

from __future__ import annotations

import pytest

from subreg.bootstrap import bootstrap, operator_numbers
from subreg.config import Settings
from subreg.domain.common.errors import FieldValueError


def settings(tmp_path, ranges: str) -> Settings:
    return Settings(env="test", var_dir=tmp_path / "var", operator_ranges=ranges)


class TestOperatorRangesSetting:
    def test_empty_by_default_which_accepts_every_number(self, tmp_path):
        numbers = operator_numbers(Settings(env="test", var_dir=tmp_path / "var"))
        assert numbers.accepts_all
        assert numbers.owns("+84981234567")

    def test_prefixes_and_ranges_separated_by_commas(self, tmp_path):
        numbers = operator_numbers(settings(tmp_path, " 090, +8493 ,0162,0981000000-0981000999 "))
        assert numbers.prefixes == ("8490", "8493", "8432")
        assert numbers.owns("+84981000500")
        assert not numbers.owns("+84981001000")

    @pytest.mark.parametrize("bad", ["024", "090,,093", "090,", "0909999999-0901000000", "hello"])
    def test_a_bad_setting_is_named_in_the_error(self, tmp_path, bad):
        with pytest.raises(FieldValueError) as refused:
            operator_numbers(settings(tmp_path, bad))
        assert [(e.field, e.code) for e in refused.value.errors] == [("operator_ranges", "invalid_format")]

    def test_the_application_does_not_start_with_a_bad_setting(self, tmp_path):
        with pytest.raises(FieldValueError) as refused:
            bootstrap(settings(tmp_path, "024"))
        assert refused.value.errors[0].field == "operator_ranges"
        assert not (tmp_path / "var").exists()  # refused before anything was opened
