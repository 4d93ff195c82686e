"""Benchmark of one counter verification (passive authentication + face match), one core; and the measured
false match / false non-match rates of the face model on the faces shipped in scikit-image.

The chip: a CSCA, a document signer (ECDSA P-256) and DG1/DG2/DG13 made here; DG2 holds a 240x320 JPEG 2000
portrait (what chip CCCDs carry). The counter's capture: a 960x960 JPEG. Timed per verification:
  full       passive authentication, DG2's template, the capture's template, the decision;
  reference  the same with DG2's template computed once (when the chip is read, before the capture).

    .venv/bin/python bench/verify_face.py                # timings, 30 runs each
    .venv/bin/python bench/verify_face.py --rates        # and FMR / FNMR on the shipped faces
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from skimage import data as skimage_data  # noqa: E402
from tests.fixtures.faces import astronaut, jpeg, lfw_faces, transforms  # noqa: E402
from tests.fixtures.icao import HOLDER, NOW, make_chip  # noqa: E402

from subreg.adapters.chip import IcaoPassiveAuthenticator  # noqa: E402
from subreg.adapters.face import DlibFaceModel  # noqa: E402
from subreg.services.verification.biometric_ports import FaceRefusedError  # noqa: E402
from subreg.services.verification.chip_face import ChipData, check_chip, match_face  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timings(runs: int) -> None:
    """Print p50 / p95 / max of the two kinds of verification."""
    buf = io.BytesIO()
    astronaut().resize((240, 320)).save(buf, "JPEG2000", quality_mode="rates", quality_layers=[20])
    chip = make_chip(buf.getvalue(), jpeg2000=True)
    data = ChipData(chip.groups[1], chip.groups[2], chip.sod, chip.groups[13])
    authenticator = IcaoPassiveAuthenticator([chip.csca.cert])
    model = DlibFaceModel()
    full_capture = Image.fromarray(skimage_data.astronaut()).resize((960, 960))
    probe = jpeg(full_capture, 90)
    at = NOW  # the test CSCA and DS are valid around this moment
    print(f"DG2 {len(chip.groups[2])} bytes (JPEG 2000 240x320); capture {len(probe)} bytes (JPEG 960x960)")

    def once(reference=None) -> float:
        start = time.perf_counter()
        checked = check_chip(data, typed=HOLDER, authenticator=authenticator, now=at)
        assert checked.passed
        assert checked.portrait is not None
        decision, _ = match_face(probe, reference or checked.portrait, model=model, threshold=0.5)
        assert decision.passed, decision
        return time.perf_counter() - start

    once()
    full = [once() for _ in range(runs)]
    start = time.perf_counter()
    reference = model.template(check_chip(data, typed=HOLDER, authenticator=authenticator, now=at).portrait or b"",
                               live_capture=False)  # fmt: skip
    ref_ms = (time.perf_counter() - start) * 1000
    cached = [once(reference) for _ in range(runs)]
    start = time.perf_counter()
    for _ in range(runs):
        check_chip(data, typed=HOLDER, authenticator=authenticator, now=at)
    pa_ms = (time.perf_counter() - start) * 1000 / runs
    for name, values in (("full", full), ("reference once", cached)):
        ms = [v * 1000 for v in values]
        print(f"{name:15s} runs={runs} p50={_pct(ms, 0.5):.0f} ms p95={_pct(ms, 0.95):.0f} ms max={max(ms):.0f} ms")
    print(f"passive authentication alone: {pa_ms:.1f} ms; the reference template (chip read): {ref_ms:.0f} ms")


def rates() -> None:
    """FMR / FNMR at the regimes' thresholds on the shipped faces (the set is small: read the counts)."""
    model = DlibFaceModel()
    genuine_images = {name: jpeg(f(astronaut()), q) for name, (f, q) in transforms().items()}
    genuine = {name: model.template(image, live_capture=True) for name, image in genuine_images.items()}
    others = []
    refused = 0
    for face in lfw_faces(100):
        try:
            others.append(model.template(jpeg(face), live_capture=False))
        except FaceRefusedError:
            refused += 1
    same = [model.distance(a, b) for a, b in itertools.combinations(genuine.values(), 2)]
    astro_vs_other = [model.distance(genuine["identity"], o) for o in others]
    other_pairs = [model.distance(a, b) for a, b in itertools.combinations(others, 2)]
    different = astro_vs_other + other_pairs
    print(f"genuine: 1 person, {len(genuine)} captures, {len(same)} pairs; distance max {max(same):.3f}")
    print(f"impostor: {len(others)} LFW faces detected ({refused} not), astronaut vs them {len(astro_vs_other)} "
          f"pairs (min {min(astro_vs_other):.3f}), between them {len(other_pairs)} pairs "
          f"(min {min(other_pairs):.3f})")  # fmt: skip
    for threshold in (0.4, 0.45, 0.5, 0.55, 0.6):
        fnm = sum(d > threshold for d in same)
        fm_astro = sum(d <= threshold for d in astro_vs_other)
        fm = sum(d <= threshold for d in different)
        print(f"threshold {threshold:.2f}: FNMR {fnm}/{len(same)} = {fnm / len(same):.3%}; FMR {fm}/{len(different)} "
              f"= {fm / len(different):.3%} (astronaut vs others: {fm_astro}/{len(astro_vs_other)})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rates", action="store_true", help="also measure FMR / FNMR")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    timings(args.runs)
    if args.rates:
        rates()


if __name__ == "__main__":
    main()
