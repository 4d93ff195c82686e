"""Kannel on loopback for tests: bearerbox, smsbox and fakesmsc as subprocesses in a temporary folder.

`KannelLoopback(workdir, post_url=...)` writes a kannel.conf (every port a free 127.0.0.1 port), starts
bearerbox, smsbox and a receiving fakesmsc, waits until the fake SMSC is online and sendsms answers, and
stops it all on exit. Usable outside pytest (the MO bench uses it).

Two fake SMSCs, because a fake SMSC serves one fakesmsc client at a time and fakesmsc's interactive
mode (MO from stdin) crashes in 1.4.5 ("double free detected" after the first line):

- `fake` (`fake_port`): one long-running `fakesmsc -m 0` that sends nothing and prints every MT it gets
  ("Got message N: <...>"); all MT are routed here.
- `inject` (`inject_port`): each `inject_mo` runs a short `fakesmsc -m 1 "<sender> <receiver> text <text>"`
  and stops it once it has sent its line; `allowed-smsc-id` keeps MT away from it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote_to_bytes

BEARERBOX = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
SMSBOX = shutil.which("smsbox") or "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
# "Got message 3: <1414 84901234567 udh %05%00%03%01%03%02 text...>"
_GOT = re.compile(r"Got message \d+: <(.*)>\s*$")


def kannel_missing() -> str | None:
    """Why Kannel cannot run here, or None when it can."""
    for path in (BEARERBOX, SMSBOX, FAKESMSC):
        if not os.access(path, os.X_OK):
            return f"{path} not installed (apt-get install kannel kannel-extras)"
    return None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class FakeMt:
    """One MT as fakesmsc printed it: "<sender> <receiver> [udh <udh>] text|data <msg>".

    `kind` is "text" (printable ASCII, as is), "data" (URL-encoded bytes, "+" for a space) or "ucs-2"
    (URL-encoded UTF-16BE); `udh` the
    URL-encoded UDH or None.
    """

    sender: str
    receiver: str
    kind: str
    udh: str | None
    data: str

    @classmethod
    def parse(cls, line: str) -> FakeMt:
        sender, receiver, rest = [*line.split(" ", 2), "", ""][:3]
        udh = None
        if rest.startswith("udh "):
            udh, _, rest = rest[4:].partition(" ")
        kind, _, data = rest.partition(" ")
        return cls(sender, receiver, kind, udh, data)

    def udh_bytes(self) -> bytes:
        return unquote_to_bytes(self.udh or "")

    def payload(self) -> bytes:
        """The message's bytes (UCS-2 arrives as UTF-16BE)."""
        if self.kind == "text":
            return self.data.encode("latin-1")
        return unquote_to_bytes(self.data.replace("+", " "))


@dataclass
class KannelLoopback:
    """bearerbox + smsbox + fakesmsc on free loopback ports (see the module docstring)."""

    workdir: Path
    post_url: str  # the sms-service post-url (subreg's MO endpoint, with the gateway secret)
    username: str = "subreg"
    password: str = "sendsms-test-pw"  # a throwaway sendsms-user of a test Kannel
    admin_password: str = "admin-test-pw"
    log_level: int = 1
    admin_port: int = field(default_factory=free_port)
    smsbox_port: int = field(default_factory=free_port)
    sendsms_port: int = field(default_factory=free_port)
    fake_port: int = field(default_factory=free_port)
    inject_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    mt_lines: list[str] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    @property
    def conf_path(self) -> Path:
        return self.workdir / "kannel.conf"

    def config_text(self) -> str:
        """The kannel.conf this instance runs with."""
        d = self.workdir
        return f"""\
group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = {self.admin_password}
admin-allow-ip = 127.0.0.1
smsbox-port = {self.smsbox_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{d}/bearerbox.log"
log-level = {self.log_level}
dlr-storage = internal
sms-combine-concatenated-mo = true

group = smsc
smsc = fake
smsc-id = fake
port = {self.fake_port}
connect-allow-ip = 127.0.0.1

group = smsc
smsc = fake
smsc-id = inject
allowed-smsc-id = inject
port = {self.inject_port}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.smsbox_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{d}/smsbox.log"
log-level = {self.log_level}
global-sender = 1414
http-request-retry = 3
http-queue-delay = 1

group = sendsms-user
username = {self.username}
password = {self.password}
user-allow-ip = 127.0.0.1
max-messages = 1
concatenation = false

# Every MO goes to subreg (TTTB and anything else: subreg answers the help text).
group = sms-service
keyword = default
catch-all = true
post-url = "{self.post_url}"
send-sender = true
omit-empty = true
max-messages = 0
accept-x-kannel-headers = false
"""

    def __enter__(self) -> KannelLoopback:
        self.start()
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.stop()

    def start(self, timeout: float = 20.0) -> None:
        """Write the configuration, start the three processes, wait until MO and MT can flow."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self.config_text())
        self._spawn("bearerbox", [BEARERBOX, "-v", str(self.log_level), str(self.conf_path)])
        self._wait_port(self.admin_port, timeout)
        self._wait_port(self.fake_port, timeout)
        self._wait_port(self.inject_port, timeout)
        fakesmsc = self._spawn(
            "fakesmsc",
            # A message argument keeps it out of interactive mode; -m 0 never sends it.
            [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.fake_port), "-m", "0", "0 0 text unused"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._read_fakesmsc, args=(fakesmsc,), daemon=True).start()
        self._spawn("smsbox", [SMSBOX, "-v", str(self.log_level), str(self.conf_path)])
        self._wait_port(self.sendsms_port, timeout)
        self._wait_online(timeout)

    def _spawn(self, name: str, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        kwargs.setdefault("stderr", subprocess.STDOUT)
        if "stdout" in kwargs:
            proc: subprocess.Popen[bytes] = subprocess.Popen(argv, cwd=self.workdir, **kwargs)  # type: ignore[call-overload]
        else:
            with (self.workdir / f"{name}.out").open("wb") as out:  # the child keeps its own copy of the fd
                proc = subprocess.Popen(argv, cwd=self.workdir, stdout=out, **kwargs)  # type: ignore[call-overload]
        self.procs[name] = proc
        return proc

    def _read_fakesmsc(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        with (self.workdir / "fakesmsc.out").open("wb") as copy:
            for raw in proc.stdout:
                copy.write(raw)
                copy.flush()
                match = _GOT.search(raw.decode("latin-1"))
                if match:
                    with self._cond:
                        self.mt_lines.append(match.group(1))
                        self._cond.notify_all()

    def _wait_port(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"Kannel port {port} did not open; see {self.workdir}")

    def status(self) -> str:
        """bearerbox's plain-text status page."""
        url = f"http://127.0.0.1:{self.admin_port}/status.txt?password={self.admin_password}"
        with urllib.request.urlopen(url, timeout=2) as r:
            return str(r.read().decode())

    def _wait_online(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                text = self.status()
            except (urllib.error.URLError, OSError):
                text = ""
            # The fake SMSC line says "online" once fakesmsc is connected; one smsbox is listed under Box.
            if re.search(r"\[fake\].*online", text) and "smsbox:" in text:
                return
            time.sleep(0.1)
        raise TimeoutError(f"Kannel did not come online; status:\n{text}")

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.workdir}")

    def inject_mo(self, sender: str, receiver: str, text: str, *, count: int = 1, timeout: float = 60.0) -> float:
        """Send `count` MO through a fakesmsc on the `inject` SMSC; the seconds fakesmsc took to send them."""
        argv = [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.inject_port), "-i", "0", "-m", str(count)]
        proc = subprocess.Popen(
            [*argv, f"{sender} {receiver} text {text}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert proc.stdout is not None
        started = time.monotonic()
        try:
            # fakesmsc keeps its connection open after the last MO (waiting for MT): stop it once it
            # said it sent them all, which frees the SMSC for the next injection.
            for raw in proc.stdout:
                if f"sent message {count}".encode() in raw:
                    return time.monotonic() - started
                if time.monotonic() - started > timeout:
                    break
            raise RuntimeError(f"fakesmsc did not send {count} MO")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            proc.stdout.close()

    def wait_mt(self, count: int, timeout: float = 30.0) -> list[FakeMt]:
        """The first `count` MT fakesmsc received (waits for them)."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.mt_lines) >= count, timeout=timeout)
            lines = list(self.mt_lines)
        if len(lines) < count:
            raise TimeoutError(f"fakesmsc got {len(lines)} MT, expected {count}: {lines}")
        return [FakeMt.parse(line) for line in lines[:count]]

    def mt_to(self, receiver: str, count: int, timeout: float = 30.0) -> list[FakeMt]:
        """The first `count` MT fakesmsc received for `receiver` (waits for them)."""

        def found() -> list[FakeMt]:
            return [mt for mt in map(FakeMt.parse, self.mt_lines) if mt.receiver == receiver]

        with self._cond:
            self._cond.wait_for(lambda: len(found()) >= count, timeout=timeout)
            got = found()
        if len(got) < count:
            raise TimeoutError(f"fakesmsc got {len(got)} MT for the number, expected {count}")
        return got[:count]

    def stop(self) -> None:
        """Stop smsbox, fakesmsc, bearerbox (in that order), killing what does not stop in 5 s."""
        for name in ("smsbox", "fakesmsc", "bearerbox"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGINT if name == "fakesmsc" else signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for proc in self.procs.values():
            if proc.stdout is not None:
                proc.stdout.close()
