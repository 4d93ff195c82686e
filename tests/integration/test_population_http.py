"""The population database's HTTP adapter against a real server process on 127.0.0.1 (tests/integration/
population_server.py): answers per field, requests split at `max_batch`, every error class of the contract,
and a whole run through the adapter on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from subreg.adapters.db.population_repo import open_population_store
from subreg.adapters.population.http import HttpPopulationRegistry
from subreg.adapters.population.reference import DeliberateRates, build_reference_table, deliberate
from subreg.adapters.processes import ForkPool
from subreg.domain.common.errors import ExternalServiceError
from subreg.domain.verification.population import FieldResult, PopulationQuery
from subreg.services.registry.demo_data import generate_records
from subreg.services.verification.population import match_all
from tests.integration.test_population_matching import AS_OF, EXPECTED, SEED, N, _load

TOKEN = "test-token-not-a-secret"
RATES = DeliberateRates(unknown=0.05, name=0.10, birth=0.05, seed=7)
M, MM, NF = FieldResult.MATCH, FieldResult.MISMATCH, FieldResult.NOT_FOUND


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    table = build_reference_table(generate_records(N, SEED, as_of=AS_OF), RATES)
    table["079190123456"] = ("Nguyễn Thị Ánh", "1990-05-17")
    path = tmp_path_factory.mktemp("pdb") / "table.json"
    path.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.population_server", str(path), TOKEN],
        stdout=subprocess.PIPE, cwd=root, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_per_field_answers(server: str) -> None:
    registry = HttpPopulationRegistry(server, TOKEN, max_batch=2)
    queries = [
        PopulationQuery(1, "079190123456", "NGUYỄN  thị Ánh", "1990-05-17"),  # case and spacing do not count
        PopulationQuery(2, "079190123456", "Nguyen Thi Anh", "1990-05-17"),  # diacritics do
        PopulationQuery(3, "079190123456", "Nguyễn Thị Ánh", "1990-05-18"),
        PopulationQuery(4, "000000000001", "Ai Đó", "1990-01-01"),
        PopulationQuery(5, "079190123456", "Nguyễn Thị Ánh", "1990"),  # a year-only date of birth
    ]
    answers = registry.match(queries)  # three requests of at most two
    registry.close()
    assert [(a.ref, a.id_number, a.full_name, a.date_of_birth) for a in answers] == [
        (1, M, M, M), (2, M, MM, M), (3, M, M, MM), (4, NF, NF, NF), (5, M, M, M),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "token", "retryable"),
    [("", "wrong-token", False), ("/unavailable", TOKEN, True), ("/broken", TOKEN, False), ("/nowhere", TOKEN, False)],
)
def test_errors(server: str, path: str, token: str, retryable: bool) -> None:
    registry = HttpPopulationRegistry(server + path, token)
    with pytest.raises(ExternalServiceError) as caught:
        registry.match([PopulationQuery(1, "079190123456", "Nguyễn Thị Ánh", "1990-05-17"),
                        PopulationQuery(2, "079190123457", "Trần Văn B", "1980-01-01")])  # fmt: skip
    assert caught.value.retryable is retryable
    assert "079190123456" not in str(caught.value)  # no personal data in the error
    registry.close()


def test_unreachable_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    registry = HttpPopulationRegistry(f"http://127.0.0.1:{port}", TOKEN, timeout=2)
    with pytest.raises(ExternalServiceError) as caught:
        registry.match([PopulationQuery(1, "079190123456", "A", "1990-05-17")])
    assert caught.value.retryable


def test_a_whole_run_through_the_http_adapter(server: str, container: Any) -> None:
    _load(container)
    store = open_population_store(container.engine)
    pool = ForkPool(2)  # each worker opens its own connection pool
    try:
        report = match_all(
            store, vault=container.vault, pool=pool, registry=HttpPopulationRegistry(server, TOKEN, max_batch=50),
            uow_factory=container.uow, now=datetime(2023, 3, 2, tzinfo=UTC), batch="http",
            regime="population-db-2023", page_size=100,
        )  # fmt: skip
    finally:
        pool.close()
        store.close()
    with container.engine.connect() as c:
        rows = c.execute(text("SELECT subscription_id, id_number, full_name, date_of_birth FROM population_matches"))
        stored = {int(r[0]): tuple(r[1:]) for r in rows}
    assert len(stored) == report.answered == report.asked > 0
    numbers = _numbers(container)
    for ref, answer in stored.items():
        assert answer == EXPECTED[deliberate(numbers[ref], RATES)]


def _numbers(container: Any) -> dict[int, str]:
    """Line id -> the holder's stored ID number (decrypted here, as the test's own check)."""
    import orjson

    from subreg.services.registry.ports import holder_aad

    out: dict[int, str] = {}
    with container.engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT s.id, h.kek_id, h.wrapped_dek, h.aad_ref, h.payload FROM subscriptions s "
                "JOIN holders h ON h.id = s.holder_id"
            )
        ).all()
    vault = container.vault
    for line, kek, wrapped, aad, payload in rows:
        personal = orjson.loads(vault.open(vault.unwrap(kek, bytes(wrapped)), bytes(payload), holder_aad(bytes(aad))))
        number = (personal.get("holder") or {}).get("id_number")
        if number:
            out[int(line)] = number
    return out
