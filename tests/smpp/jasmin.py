"""Jasmin (the real SMPP server the adapter binds to) and the network side behind it, for the tests.

Topology (all on 127.0.0.1, every port free-picked at start)::

    subreg SMPP adapter (ESME)  --bind trx-->  jasmind (smpp-server)  --smppc connector-->  FakeNetwork
                                                  (user "subreg")                           (this module)

MT: the adapter submits to Jasmin; Jasmin's MT route sends every message to the smppc connector `net_<id>`,
which Jasmin binds (transceiver) to `FakeNetwork`, an SMSC written here that plays the phones: it records
every submit_sm it receives (destination, data coding, UDH, text) and answers it. MO and receipts: the
network side sends deliver_sm to Jasmin over that same connector bind; Jasmin's MO route
(`DefaultRoute -> smpps(subreg)`) hands MOs to our ESME, and its DLR machinery maps the network's receipt
(by the network's message id) back to the id Jasmin gave our ESME and sends it to the ESME as a receipt.
This is how Jasmin's own tests exercise MO routing to an SMPP server user: an upstream smppc connector
receiving deliver_sm (jasmin/routing/test/test_router_smpps.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from smpplib import consts, smpp

ROOT = Path(__file__).resolve().parents[2]
JASMIN_VENV = Path(os.environ.get("JASMIN_VENV", ROOT / ".venv-jasmin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jasmin_available() -> str | None:
    """None when jasmind can run here, else the reason to skip."""
    if not (JASMIN_VENV / "bin" / "jasmind.py").exists():
        return f"Jasmin's virtualenv is missing ({JASMIN_VENV}): run scripts/jasmin-env.sh"
    for port, what in ((6379, "Redis"), (5672, "RabbitMQ")):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return f"{what} is not running on 127.0.0.1:{port} (Jasmin needs it)"
    return None


class _Seq:
    """smpplib's PDUs ask their client for sequence numbers."""

    def __init__(self) -> None:
        self._n = 0
        self._lock = threading.Lock()

    def next_sequence(self) -> int:
        with self._lock:
            self._n += 1
            return self._n


@dataclass
class Received:
    """One submit_sm the network side got from Jasmin."""

    destination: str
    source: str
    data_coding: int
    esm_class: int
    udh: bytes
    text: str
    registered_delivery: int
    message_id: str
    bind_no: int  # which of Jasmin's binds to the network carried it (a restarted Jasmin binds anew)


@dataclass
class FakeNetwork:
    """A small SMSC: Jasmin's smppc connector binds to it; it records MT, sends MO and receipts."""

    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    receipts: bool = True  # answer registered_delivery with a DELIVRD receipt
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._seq = _Seq()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._bound: list[socket.socket] = []
        self._binds = 0
        self._bind_no: dict[socket.socket, int] = {}
        self._send_locks: dict[socket.socket, threading.Lock] = {}
        self._next_id = 0
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, name="fake-network", daemon=True)
        self._thread.start()

    # -- the SMSC -------------------------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._lock:
                self._conns.append(conn)
                self._send_locks[conn] = threading.Lock()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _send(self, conn: socket.socket, pdu) -> None:
        with self._send_locks[conn]:
            conn.sendall(pdu.generate())

    def _serve(self, conn: socket.socket) -> None:
        try:
            while True:
                head = _recv_exact(conn, 4)
                (length,) = struct.unpack(">L", head)
                pdu = smpp.parse_pdu(
                    head + _recv_exact(conn, length - 4), client=self._seq, allow_unknown_opt_params=True
                )
                self._handle(conn, pdu)
        except (OSError, ConnectionError):
            pass
        except Exception as exc:  # a broken fake must show, not hang the test
            self.errors.append(repr(exc))
        finally:
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
                if conn in self._bound:
                    self._bound.remove(conn)
            conn.close()

    def _resp(self, conn: socket.socket, command: str, req, **kwargs) -> None:
        resp = smpp.make_pdu(command, client=self._seq, **kwargs)
        resp.sequence = req.sequence
        self._send(conn, resp)

    def _handle(self, conn: socket.socket, pdu) -> None:
        cmd = pdu.command
        if cmd in ("bind_transceiver", "bind_transmitter", "bind_receiver"):
            self._resp(conn, cmd + "_resp", pdu, system_id="fakenet")
            with self._lock:
                self._bound.append(conn)
                self._binds += 1
                self._bind_no[conn] = self._binds
        elif cmd == "enquire_link":
            self._resp(conn, "enquire_link_resp", pdu)
        elif cmd == "unbind":
            self._resp(conn, "unbind_resp", pdu)
        elif cmd == "submit_sm":
            with self._lock:
                self._next_id += 1
                msg_id = f"N{self._next_id:07d}"  # Jasmin upper-cases and strips leading zeros of receipt ids
            sm = pdu.short_message or b""
            udh = b""
            if pdu.esm_class & 0x40 and sm:
                udh, sm = sm[: sm[0] + 1], sm[sm[0] + 1 :]
            text = _decode(sm, pdu.data_coding or 0)
            dest = pdu.destination_addr.decode() if isinstance(pdu.destination_addr, bytes) else pdu.destination_addr
            src = pdu.source_addr.decode() if isinstance(pdu.source_addr, bytes) else pdu.source_addr
            with self._lock:
                self.received.append(
                    Received(
                        dest,
                        src,
                        pdu.data_coding or 0,
                        pdu.esm_class or 0,
                        udh,
                        text,
                        pdu.registered_delivery or 0,
                        msg_id,
                        self._bind_no.get(conn, 0),
                    )
                )
            self._resp(conn, "submit_sm_resp", pdu, message_id=msg_id)
            if self.receipts and (pdu.registered_delivery or 0) & 0x01:
                receipt = (
                    f"id:{msg_id} sub:001 dlvrd:001 submit date:2612021200 done date:2612021200 "
                    f"stat:DELIVRD err:000 text:"
                ).encode()
                # a second later, as a handset's receipt would come (and after Jasmin mapped the submit's id)
                threading.Timer(1.0, self._receipt, args=(conn, dest, src, receipt, msg_id)).start()
        elif cmd.endswith("_resp"):
            pass

    def _receipt(self, conn: socket.socket, dest: str, src: str, receipt: bytes, msg_id: str) -> None:
        with contextlib.suppress(OSError):
            self.deliver(
                conn,
                source_addr=dest,
                destination_addr=src,
                short_message=receipt,
                esm_class=0x04,
                receipted_message_id=msg_id,
                message_state=consts.SMPP_MESSAGE_STATE_DELIVERED,
            )

    def deliver(self, conn: socket.socket | None = None, **kwargs) -> None:
        """Send one deliver_sm to Jasmin (an MO when esm_class is 0)."""
        if conn is None:
            conn = self.wait_bound()
        kwargs.setdefault("source_addr_ton", consts.SMPP_TON_INTL)
        kwargs.setdefault("source_addr_npi", consts.SMPP_NPI_ISDN)
        kwargs.setdefault("dest_addr_ton", consts.SMPP_TON_NWSPEC)
        kwargs.setdefault("dest_addr_npi", consts.SMPP_NPI_UNK)
        self._send(conn, smpp.make_pdu("deliver_sm", client=self._seq, **kwargs))

    def send_mo(self, source: str, destination: str, payload: bytes, *, data_coding: int = 0, udh: bytes = b"") -> None:
        self.deliver(
            source_addr=source,
            destination_addr=destination,
            data_coding=data_coding,
            esm_class=0x40 if udh else 0,
            short_message=udh + payload,
        )

    def wait_bound(self, timeout: float = 20) -> socket.socket:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._bound:
                    return self._bound[-1]
            time.sleep(0.05)
        raise TimeoutError("Jasmin's connector never bound to the fake network")

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        with self._lock:
            for c in self._conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
                c.close()


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def _decode(data: bytes, coding: int) -> str:
    if coding == 8:
        return data.decode("utf-16-be")
    if coding == 0:
        from smpplib.gsm import GSM_CHARACTER_TABLE

        out, esc = [], False
        for b in data:
            if b == 0x1B:
                esc = True
                continue
            out.append(GSM_CHARACTER_TABLE[b + 0x80 if esc else b])
            esc = False
        return "".join(out)
    return data.decode("latin-1")


_CONFIG = """\
[smpp-server]
id = smpps_{tag}
bind = 127.0.0.1
port = {smpp}
log_file = {logs}/default-smpps.log

[smpp-server-pb]
bind = 127.0.0.1
port = {smpps_pb}
log_file = {logs}/smpp-server-pb.log

[client-management]
store_path = {store}
bind = 127.0.0.1
port = {smppcm}
log_file = {logs}/smppclient-manager.log

[service-smppclient]
log_file = {logs}/service-smppclient.log

[sm-listener]
log_file = {logs}/messages.log

[dlr]
log_file = {logs}/dlr.log

[router]
store_path = {store}
bind = 127.0.0.1
port = {router}
log_file = {logs}/router.log

[deliversm-thrower]
log_file = {logs}/deliversm-thrower.log

[dlr-thrower]
log_file = {logs}/dlr-thrower.log

[http-api]
bind = 127.0.0.1
port = {http}
log_file = {logs}/http-api.log
access_log = {logs}/http-accesslog.log

[jcli]
bind = 127.0.0.1
port = {jcli}
authentication = False
log_file = {logs}/jcli.log

[amqp-broker]
host = 127.0.0.1
port = 5672
vhost = {vhost}
spec = {spec}
log_file = {logs}/amqp-client.log

[redis-client]
host = 127.0.0.1
port = 6379
"""


class Jasmin:
    """One jasmind process on free loopback ports, configured through jCli (and persisted, so a restart
    comes back with the same users, routes and connector)."""

    def __init__(self, workdir: Path, network: FakeNetwork) -> None:
        self.workdir = workdir
        self.network = network
        self.tag = f"{os.getpid()}_{int(time.time() * 1000) % 100000}"
        self.ports = {k: free_port() for k in ("smpp", "smpps_pb", "smppcm", "router", "http", "jcli")}
        self.logs = workdir / "log"
        self.store = workdir / "store"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.store.mkdir(parents=True, exist_ok=True)
        spec = next((JASMIN_VENV / "lib").glob("python3*/site-packages/txamqp/specs/standard/amqp0-9-1.stripped.xml"))
        self.config = workdir / "jasmin.cfg"
        # A RabbitMQ vhost of its own: Jasmin's queues (dlr_thrower.*, deliver_sm_thrower.*) are shared by name,
        # so leftovers of an earlier jasmind would reach this one.
        self.vhost = _make_vhost(f"subreg-test-{self.tag}")
        self.config.write_text(
            _CONFIG.format(tag=self.tag, logs=self.logs, store=self.store, spec=spec, vhost=self.vhost, **self.ports)
        )
        self.connector = f"net_{self.tag}"
        self.system_id = "subreg"
        self.password = "subregpw"  # SMPP passwords: 8 characters at most
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def smpp_port(self) -> int:
        return self.ports["smpp"]

    def start(self, timeout: float = 40) -> None:
        env = dict(os.environ, LOG_PATH=str(self.logs), STORE_PATH=str(self.store))
        for stale in self.workdir.glob("jasmind*.lock"):  # left by a SIGKILLed jasmind (ours: this dir is ours)
            stale.unlink()
        for stale in self.workdir.glob("*jasmind*"):
            if stale.is_file() and not stale.name.endswith(".out"):
                stale.unlink()
        self.starts += 1
        out_path = self.logs / f"jasmind-{self.starts}.out"
        with out_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    str(JASMIN_VENV / "bin" / "python"),
                    str(Path(__file__).with_name("jasmind_launcher.py")),
                    str(self.workdir / "jasmind"),
                    str(JASMIN_VENV / "bin" / "jasmind.py"),
                    "-c",
                    str(self.config),
                    "--enable-dlr-thrower",
                    "--enable-dlr-lookup",
                    "--enable-deliver-thrower",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jasmind exited ({self.proc.returncode}); see {out_path}")
            try:
                socket.create_connection(("127.0.0.1", self.ports["jcli"]), timeout=0.5).close()
                socket.create_connection(("127.0.0.1", self.ports["smpp"]), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("jasmind did not open its ports")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None

    def configure(self) -> None:
        """The group and user for our ESME, the network connector, an MT route and an MO route; persisted."""
        with JCli(self.ports["jcli"]) as cli:
            cli.session(
                "smppccm -a",
                cid=self.connector,
                host="127.0.0.1",
                port=self.network.port,
                username="jasmin",
                password="pw",
                bind="transceiver",
                submit_throughput=0,
                con_loss_delay=1,
                con_fail_delay=1,
                elink_interval=5,
            )
            cli.expect_ok(cli.run(f"smppccm -1 {self.connector}"), "Successfully started")
            cli.session("group -a", gid="subregs")
            cli.session("user -a", uid="subreg", gid="subregs", username=self.system_id, password=self.password)
            # no throughput cap and unlimited balance for our user (the defaults already are)
            cli.session("mtrouter -a", type="DefaultRoute", connector=f"smppc({self.connector})", rate="0.00")
            cli.session("morouter -a", type="DefaultRoute", connector=f"smpps({self.system_id})")
            cli.expect_ok(cli.run("persist"), "persisted")
        self.network.wait_bound()


def _make_vhost(name: str) -> str:
    try:
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True, capture_output=True, timeout=30)
        subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return "/"  # no rabbitmqctl here: share the default vhost (tests look for their own ids)
    return name


def drop_vhost(name: str) -> None:
    if name != "/":
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True, timeout=30)


class JCli:
    """jCli over a plain socket (telnetlib is deprecated): send a line, read up to the next prompt."""

    PROMPTS = (b"jcli : ", b"> ")

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self._read_until(lambda b: re.search(rb"Session ref: \d+\r*\n", b) is not None)  # no prompt at first

    def __enter__(self) -> JCli:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(b"quit\r\n")
        self.sock.close()

    def _read_prompt(self) -> str:
        return self._read_until(lambda b: b.endswith(self.PROMPTS))

    def _read_until(self, done) -> str:
        buf = b""
        while not done(buf):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(buf.decode(errors="replace"))
            buf += chunk
        text = re.sub(rb"\xff[\xfb-\xfe].|\x1b\[[0-9;]*[A-Za-z]", b"", buf)
        return text.decode(errors="replace")

    def run(self, line: str) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        return self._read_prompt()

    @staticmethod
    def expect_ok(out: str, needle: str) -> str:
        if needle.lower() not in out.lower():
            raise RuntimeError(f"jCli: expected {needle!r} in {out!r}")
        return out

    def session(self, command: str, **values: object) -> str:
        out = self.run(command)
        for key, value in values.items():
            out += self.run(f"{key} {value}")
        out += self.run("ok")
        return self.expect_ok(out, "Successfully")
