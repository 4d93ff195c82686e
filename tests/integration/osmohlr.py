"""OsmoHLR on loopback for tests: a real `osmo-hlr` process with its own configuration and database.

`OsmoHlrLoopback(workdir)` writes osmo-hlr.cfg, starts `osmo-hlr -c <cfg> -l <workdir>/hlr.db`, waits
until its CTRL interface answers, and stops it on exit. `restart()` starts it again on the same database.

Ports: OsmoHLR 1.5 listens on fixed ports, CTRL 4259, VTY 4258 and GSUP 4222 (`ctrl` / `bind` takes an
address only, and the VTY's `bind A.B.C.D <port>` is accepted but its port ignored), and 127.0.0.1:4222 is
NATS's on these machines. So each instance gets its own loopback address instead of its own ports: a
random 127.x.y.z (Linux routes all of 127.0.0.0/8 to `lo`) where the three ports are free. Instances in
parallel workers, or a system osmo-hlr on 127.0.0.1, never clash, and no lock file is needed.

`ctrl(text)` and `vty(command)` talk to the process directly (raw CTRL frames, a raw telnet exchange),
independently of the adapter under test, so the tests can check what OsmoHLR itself says.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

OSMO_HLR = shutil.which("osmo-hlr") or "/usr/bin/osmo-hlr"
CTRL_PORT = 4259
VTY_PORT = 4258
GSUP_PORT = 4222
_HEADER = struct.Struct(">HB")


def osmohlr_missing() -> str | None:
    """Why osmo-hlr cannot run here, or None when it can."""
    if not os.access(OSMO_HLR, os.X_OK):
        return f"{OSMO_HLR} not installed (apt-get install osmo-hlr, or `make system-deps` as root)"
    return None


def free_loopback_address(ports: tuple[int, ...] = (CTRL_PORT, VTY_PORT, GSUP_PORT)) -> str:
    """A random 127.x.y.z address on which every one of `ports` is free right now."""
    rng = random.SystemRandom()
    for _ in range(50):
        address = f"127.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
        try:
            for port in ports:
                with socket.socket() as s:
                    s.bind((address, port))
        except OSError:
            continue
        return address
    raise RuntimeError("no loopback address with the OsmoHLR ports free")


@dataclass
class OsmoHlrLoopback:
    """One osmo-hlr on its own loopback address (see the module docstring)."""

    workdir: Path
    address: str = field(default_factory=free_loopback_address)
    proc: subprocess.Popen[bytes] | None = None

    ctrl_port = CTRL_PORT
    vty_port = VTY_PORT

    @property
    def conf_path(self) -> Path:
        return self.workdir / "osmo-hlr.cfg"

    @property
    def db_path(self) -> Path:
        return self.workdir / "hlr.db"

    def config_text(self) -> str:
        """The osmo-hlr.cfg this instance runs with."""
        return f"""\
log stderr
 logging color 0
 logging print category 1
 logging level main notice
 logging level db notice
 logging level auc notice
line vty
 bind {self.address}
ctrl
 bind {self.address}
hlr
 gsup
  bind ip {self.address}
"""

    def __enter__(self) -> OsmoHlrLoopback:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 15.0) -> None:
        """Write the configuration, start osmo-hlr, wait until CTRL answers a command."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self.config_text())
        with (self.workdir / "osmo-hlr.out").open("ab") as out:  # the child keeps its own copy of the fd
            self.proc = subprocess.Popen(
                [OSMO_HLR, "-c", str(self.conf_path), "-l", str(self.db_path)],
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"osmo-hlr exited with {self.proc.returncode}; see {self.workdir}/osmo-hlr.out")
            try:
                # Any answer will do (this IMSI does not exist): CTRL is up.
                self.ctrl("GET 1 subscriber.by-imsi-001010000000000.msisdn", timeout=1.0)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"osmo-hlr's CTRL did not answer; see {self.workdir}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop osmo-hlr (SIGTERM, killed if it has not stopped in 5 s)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def restart(self) -> None:
        """Stop and start again on the same database."""
        self.stop()
        self.start()

    def ctrl(self, text: str, *, timeout: float = 5.0) -> str:
        """Send one CTRL message (e.g. ``GET 7 subscriber.by-msisdn-849...info``); the answer's text."""
        payload = b"\x00" + text.encode("ascii")
        with socket.create_connection((self.address, self.ctrl_port), timeout=timeout) as s:
            s.sendall(_HEADER.pack(len(payload), 0xEE) + payload)
            length, _stream = _HEADER.unpack(_recv_exact(s, _HEADER.size))
            return _recv_exact(s, length)[1:].decode("ascii")

    def ctrl_info(self, msisdn: str) -> dict[str, str]:
        """The fields of ``subscriber.by-msisdn-<msisdn>.info`` as OsmoHLR answers them."""
        answer = self.ctrl(f"GET 9 subscriber.by-msisdn-{msisdn}.info")
        if not answer.startswith("GET_REPLY 9 "):
            raise AssertionError(answer)
        return dict(line.split("\t", 1) for line in answer.splitlines()[1:] if "\t" in line)

    def vty(self, command: str, *, timeout: float = 5.0) -> str:
        """Run one command on the VTY (telnet, unprivileged node); its output without the echo and prompt."""
        prompt = b"OsmoHLR> "
        with socket.create_connection((self.address, self.vty_port), timeout=timeout) as s:
            _recv_until(s, prompt)  # the banner (with telnet option negotiation, which we leave unanswered)
            s.sendall(command.encode("ascii") + b"\n")
            out = _recv_until(s, prompt).decode("ascii", errors="replace")
        lines = out.replace("\r", "").split("\n")
        return "\n".join(line for line in lines[1:-1] if line.strip())  # drop the echoed command and the prompt


def _recv_exact(s: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = s.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("osmo-hlr closed the connection")
        data += chunk
    return data


def _recv_until(s: socket.socket, token: bytes) -> bytes:
    data = b""
    while not data.endswith(token):
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionResetError("osmo-hlr closed the VTY connection")
        data += chunk
    return data
