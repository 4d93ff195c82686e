"""OsmoHlrProvisioner against a scripted CTRL peer on loopback: the cases a real osmo-hlr does not produce
on demand (silence, traps, stray answers, errors it has no test trigger for). Runs without osmo-hlr.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from subreg.adapters.hlr.osmohlr import OsmoHlrProvisioner
from subreg.services.enforcement.ports import NetworkOrder, OrderOutcome

_HEADER = struct.Struct(">HB")
MSISDN = "84900000401"


def frame(text: str) -> bytes:
    payload = b"\x00" + text.encode()
    return _HEADER.pack(len(payload), 0xEE) + payload


def read_command(conn: socket.socket) -> str | None:
    header = conn.recv(_HEADER.size, socket.MSG_WAITALL)
    if len(header) < _HEADER.size:
        return None
    length, _ = _HEADER.unpack(header)
    return conn.recv(length, socket.MSG_WAITALL)[1:].decode()


class ScriptedCtrl:
    """A CTRL server on a free loopback port; `answer(command) -> frames` decides what each command gets."""

    def __init__(self, answer: Callable[[str], list[bytes]]) -> None:
        self.answer = answer
        self.commands: list[str] = []
        self.connections = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        with conn:
            while (command := read_command(conn)) is not None:
                self.commands.append(command)
                for data in self.answer(command):
                    conn.sendall(data)

    def close(self) -> None:
        self.server.close()


def ok(command: str) -> list[bytes]:
    verb, cid, var, *_ = command.split(" ")
    return [frame(f"{verb}_REPLY {cid} {var} OK")]


@pytest.fixture
def peer(request: pytest.FixtureRequest) -> Iterator[ScriptedCtrl]:
    server = ScriptedCtrl(request.param)
    yield server
    server.close()


def lock(id: int = 1) -> NetworkOrder:
    return NetworkOrder(id=id, key=f"k{id}", msisdn=MSISDN, action="lock_two_way")


class TestScriptedPeer:
    @pytest.mark.parametrize("peer", [lambda _command: []], indirect=True)
    def test_a_silent_peer_is_retry_after_the_timeout_and_the_connection_is_opened_anew(
        self, peer: ScriptedCtrl
    ) -> None:
        adapter = OsmoHlrProvisioner(host="127.0.0.1", port=peer.port, timeout=0.2)
        assert adapter.apply(lock()) == adapter.apply(lock())
        assert adapter.apply(lock()).detail == "timeout"
        assert adapter.apply(lock()).status == "retry"
        assert peer.connections == 4
        adapter.close()

    @pytest.mark.parametrize(
        "peer",
        [lambda c: [frame("TRAP subscriber.x 1"), frame("SET_REPLY 999 stale OK"), b"\x00\x02\xfe\x00\x01", *ok(c)]],
        indirect=True,
    )
    def test_traps_other_streams_and_stray_answers_are_skipped(self, peer: ScriptedCtrl) -> None:
        adapter = OsmoHlrProvisioner(host="127.0.0.1", port=peer.port, timeout=1.0)
        outcome = adapter.apply(lock())
        assert (outcome.status, outcome.applied) == ("done", "two_way")
        assert [c.split(" ", 2)[2] for c in peer.commands] == [
            f"subscriber.by-msisdn-{MSISDN}.cs-enabled 0",
            f"subscriber.by-msisdn-{MSISDN}.ps-enabled 0",
        ]
        assert peer.connections == 1
        adapter.close()

    @pytest.mark.parametrize(
        ("peer", "detail"),
        [
            (lambda c: [frame(f"ERROR {c.split()[1]} Value failed verification.")], "invalid_value"),
            (lambda c: [frame(f"ERROR {c.split()[1]} Command not found")], "unsupported_command"),
            (lambda _c: [frame("ERROR err Request type unknown")], "unknown_request"),
            (lambda c: [frame(f"ERROR {c.split()[1]} Someone forgot to fill in the reply.")], "ctrl_error"),
        ],
        indirect=["peer"],
    )
    def test_other_errors_are_refused_with_a_short_code(self, peer: ScriptedCtrl, detail: str) -> None:
        adapter = OsmoHlrProvisioner(host="127.0.0.1", port=peer.port, timeout=1.0)
        assert adapter.apply(lock()) == OrderOutcome("refused", detail=detail)
        adapter.close()

    @pytest.mark.parametrize(
        "peer", [lambda c: [frame(f"GET_REPLY {c.split()[1]} x \nid\t1\nnam_cs\t1\nnam_ps\t0")]], indirect=True
    )
    def test_a_subscriber_with_one_domain_on_reads_as_open(self, peer: ScriptedCtrl) -> None:
        adapter = OsmoHlrProvisioner(host="127.0.0.1", port=peer.port, timeout=1.0)
        assert adapter.access(MSISDN) == "open"
        adapter.close()
