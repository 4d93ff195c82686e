"""This operator's numbers over HTTP (SQLite and PostgreSQL): registration refuses another operator's number
with 422 `not_operator_number`, POST /checks reports it when the ranges are set; an invalid setting stops
the application at start."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from subreg.api.app import create_app
from subreg.bootstrap import init_storage
from subreg.config import Settings
from subreg.domain.common.errors import FieldValueError
from tests.e2e.test_pos_api import API, errors_of, login, multipart, new_record
from tests.fixtures.images import registration_images
from tests.records import complete_record

MOBIFONE = "070,076,077,078,079,089,090,093"


def make_client(database_url: str, tmp_path, ranges: str) -> TestClient:
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=database_url,
                        max_upload_bytes=2_000_000, operator_ranges=ranges)  # fmt: skip
    init_storage(settings)
    return TestClient(create_app(settings))


@pytest.fixture
def client(database_url: str, tmp_path) -> Iterator[TestClient]:
    with make_client(database_url, tmp_path, MOBIFONE) as c:
        yield c


def port(client: TestClient, rows: list[tuple[int, str]]) -> None:
    with client.app.state.container.uow() as uow:
        uow.ported.put_many(rows, loaded_at=datetime(2026, 12, 1, tzinfo=UTC))
        uow.commit()


class TestRegistration:
    def test_another_operators_number_is_422_not_operator_number(self, client):
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}", **multipart(new_record("0981111111"), registration_images()),
                               headers=headers)  # fmt: skip
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_input"
        assert errors_of(response) == {("msisdn", "not_operator_number")}
        (error,) = response.json()["error"]["errors"]
        assert "0981111111" not in error["message"]

    def test_the_operators_own_and_ported_in_numbers_are_registered(self, client):
        port(client, [(84981111112, "in"), (84901111113, "out")])
        headers = login(client, "store_staff", "STORE-1")
        for number in ("0901111111", "0981111112"):
            created = client.post(f"{API}", **multipart(new_record(number), registration_images()), headers=headers)
            assert created.status_code == 201, created.text
        refused = client.post(f"{API}", **multipart(new_record("0901111113"), registration_images()),
                              headers=headers)  # fmt: skip
        assert refused.status_code == 422
        assert errors_of(refused) == {("msisdn", "not_operator_number")}


CHECKS = "/api/v1/checks?as_of=2018-04-24"


def check_codes(client: TestClient, numbers: list[str], headers: dict[str, str]) -> list[list[str]]:
    records = []
    for i, number in enumerate(numbers):
        record = complete_record(msisdn=number)
        record["holder"] = {**record["holder"], "id_number": f"07919012345{i}"}
        records.append(record)
    response = client.post(CHECKS, json=records, headers=headers)
    assert response.status_code == 200, response.text
    return [[e["code"] for e in r["errors"]] for r in response.json()["results"]]


class TestChecks:
    def test_with_ranges_a_number_not_the_operators_is_invalid(self, client):
        port(client, [(84981111112, "in"), (84901111113, "out")])
        headers = login(client, "store_staff", "STORE-1")
        codes = check_codes(client, ["0901111111", "0981111112", "0901111113", "0971111114"], headers)
        assert codes == [[], [], ["not_operator_number"], ["not_operator_number"]]

    def test_without_ranges_every_number_is_accepted(self, database_url, tmp_path):
        with make_client(database_url, tmp_path, "") as c:
            port(c, [(84901111113, "out")])
            headers = login(c, "store_staff", "STORE-1")
            assert check_codes(c, ["0901111113", "0971111114"], headers) == [[], []]


class TestSetting:
    def test_an_invalid_setting_stops_the_application(self, database_url, tmp_path):
        with pytest.raises(FieldValueError) as refused:
            make_client(database_url, tmp_path, "090,0241")
        assert [(e.field, e.code) for e in refused.value.errors] == [("operator_ranges", "invalid_format")]
