"""The population database over HTTP: subreg's documented JSON contract (docs/verification.md).

`POST {base_url}/v1/population/match` with `Authorization: Bearer <token>` and a JSON body
`{"batch": "...", "queries": [{"ref": "17", "id_number": "...", "full_name": "...", "date_of_birth": "..."}]}`
(at most `max_batch` queries, 1,000 by default); the answer is `{"answers": [{"ref": "17", "id_number":
"match", "full_name": "mismatch", "date_of_birth": "match"}]}`, one per query, any order. Errors: 400/422 and
any answer that breaks the contract are not retryable; 401/403 (credentials) are not retryable; 408, 429,
5xx, timeouts and connection failures are retryable. Error text never carries a field of a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from subreg.domain.common.errors import ExternalServiceError
from subreg.domain.verification.population import FieldResult, PopulationAnswer, PopulationQuery

__all__ = ["HttpPopulationRegistry"]

_RESULTS = {r.value: r for r in FieldResult}
_RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


class HttpPopulationRegistry:
    """`PopulationRegistry` over the JSON contract; `transport` is for tests (httpx.MockTransport)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        max_batch: int = 1000,
        batch: str = "online",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/v1/population/match"
        self._token = token
        self._timeout = timeout
        self._max = max_batch
        self._batch = batch
        self._transport = transport
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        # Created on first use, not at construction: a forked worker builds its own connection pool.
        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout, transport=self._transport)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def match(self, queries: Sequence[PopulationQuery]) -> list[PopulationAnswer]:
        """One answer per query, in the queries' order (requests of at most `max_batch`)."""
        out: list[PopulationAnswer] = []
        for start in range(0, len(queries), self._max):
            out.extend(self._match(queries[start : start + self._max]))
        return out

    def _match(self, queries: Sequence[PopulationQuery]) -> list[PopulationAnswer]:
        body = {
            "batch": self._batch,
            "queries": [
                {
                    "ref": str(q.ref),
                    "id_number": q.id_number,
                    "full_name": q.full_name,
                    "date_of_birth": q.date_of_birth,
                }
                for q in queries
            ],
        }
        try:
            response = self._http().post(self._url, json=body, headers={"Authorization": f"Bearer {self._token}"})
        except httpx.TimeoutException:
            raise ExternalServiceError("population database: timeout", retryable=True) from None
        except httpx.TransportError:
            raise ExternalServiceError("population database: unreachable", retryable=True) from None
        if response.status_code != 200:
            code = response.status_code
            raise ExternalServiceError(f"population database: HTTP {code}", retryable=code in _RETRYABLE)
        return _answers(response, queries)


def _answers(response: httpx.Response, queries: Sequence[PopulationQuery]) -> list[PopulationAnswer]:
    try:
        payload: Any = response.json()
        items = payload["answers"]
        by_ref: dict[int, PopulationAnswer] = {}
        for item in items:
            ref = int(item["ref"])
            by_ref[ref] = PopulationAnswer(
                ref,
                _RESULTS[item["id_number"]],
                _RESULTS[item["full_name"]],
                _RESULTS[item["date_of_birth"]],
            )
        return [by_ref[q.ref] for q in queries]
    except (ValueError, KeyError, TypeError):
        raise ExternalServiceError("population database: answer breaks the contract", retryable=False) from None
