"""Submits per second through a real Jasmin on this machine, with one and with two binds.

    PYTHONPATH=src:. /work/main/.venv/bin/python bench/smpp_throughput.py [N] [threads]

Starts jasmind and the fake network exactly as tests/integration/test_smpp_jasmin.py does, submits N
single-part messages from `threads` threads (the outbox dispatcher's shape) with no throughput cap and a
window of 10 per bind, and prints accepted submits/s (submit_sm answered by Jasmin) per configuration.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.smpp.jasmin import FakeNetwork, Jasmin

from subreg.adapters.sms.smpp import SmppBind, SmppConfig, SmppTransport
from subreg.services.sms.ports import OutboundMessage, Part


def run(jasmin: Jasmin, binds: int, n: int, threads: int) -> float:
    config = SmppConfig(
        binds=tuple(
            SmppBind("127.0.0.1", jasmin.smpp_port, jasmin.system_id, jasmin.password, name=f"b{i}")
            for i in range(binds)
        ),
        window=10,
        throughput=0,
    )
    transport = SmppTransport(config, on_mo=lambda m: None, on_receipts=lambda r: None)
    transport.start()
    assert transport.wait_bound(15)
    counter = iter(range(n))
    lock = threading.Lock()
    failures = []

    def worker() -> None:
        while True:
            with lock:
                mid = next(counter, None)
            if mid is None:
                return
            outcome = transport.submit(OutboundMessage(mid, "84900000001", "1414", "gsm7", (Part(b"", f"m {mid}"),)))
            if outcome.status != "accepted":
                failures.append(outcome.error)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    transport.close()
    rate = (n - len(failures)) / elapsed
    print(
        f"binds={binds} threads={threads} n={n}: {rate:.0f} submits/s ({elapsed:.2f} s, {len(failures)} not accepted)"
    )
    return rate


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    network = FakeNetwork(receipts=False)
    with tempfile.TemporaryDirectory() as tmp:
        jasmin = Jasmin(Path(tmp), network)
        jasmin.start()
        try:
            jasmin.configure()
            run(jasmin, 1, n // 4, threads)  # warm-up
            for binds in (1, 2):
                run(jasmin, binds, n, threads)
        finally:
            jasmin.stop()
            network.close()


if __name__ == "__main__":
    main()
