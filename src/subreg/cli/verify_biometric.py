"""CLI: chip data and face checks (`subreg verify chip`, `subreg verify face`), stateless and offline.

Nothing is stored and nothing personal is printed beyond the outcome: reason codes, the names of mismatching
fields, the face distance, threshold and model.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer

from subreg.cli._common import EXIT_INCOMPLETE, EXIT_UNREADABLE, err, handled, load_settings, out

__all__ = ["register", "verify_app"]

verify_app = typer.Typer(
    help=(
        "Identity verification: chip data (passive authentication) and face matching, offline.\n\n"
        "Example: subreg verify chip --dg1 dg1.bin --dg2 dg2.bin --sod sod.bin --csca csca.pem"
    ),
    no_args_is_help=True,
)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        err.print(f"[red]Cannot read {path.name}: {exc.strerror}[/red]")
        raise typer.Exit(EXIT_UNREADABLE) from None


@verify_app.command("chip")
@handled
def chip_cmd(
    dg1: Annotated[Path, typer.Option(help="DG1 (the MRZ) as read from the chip")],
    dg2: Annotated[Path, typer.Option(help="DG2 (the face image)")],
    sod: Annotated[Path, typer.Option(help="EF.SOD (the document security object)")],
    dg13: Annotated[Path | None, typer.Option(help="DG13 (Vietnam's extra data), when read")] = None,
    csca: Annotated[Path | None, typer.Option(help="CSCA certificates (PEM file or folder); default: setting")] = None,
    typed: Annotated[
        str | None, typer.Option(help='Typed data to compare with DG1, JSON, e.g. {"id_number": "0010..."}')
    ] = None,
    portrait_out: Annotated[Path | None, typer.Option(help="Write DG2's face image here")] = None,
) -> None:
    """Passive authentication of chip data: SOD signature, DS up to a CSCA, every data-group hash, DG1's MRZ.

    Exit 0 when it passes, 1 with a reason code otherwise.

    Example: subreg verify chip --dg1 dg1.bin --dg2 dg2.bin --sod sod.bin --csca csca.pem
    --typed '{"id_number": "001095012345"}'
    """
    from subreg.bootstrap import passive_authenticator
    from subreg.services.verification.chip_face import ChipData, check_chip

    authenticator = passive_authenticator(load_settings(), csca)
    data = ChipData(_read(dg1), _read(dg2), _read(sod), _read(dg13) if dg13 else None)
    wanted = json.loads(typed) if typed else None
    result = check_chip(data, typed=wanted, authenticator=authenticator, now=datetime.now(UTC))
    if result.passed and portrait_out is not None and result.portrait is not None:
        portrait_out.write_bytes(result.portrait)
    report = {"passed": result.passed, "reason": result.reason, "details": list(result.details),
              "portrait_format": result.portrait_format}  # fmt: skip
    out.print_json(orjson.dumps(report).decode())
    if not result.passed:
        raise typer.Exit(EXIT_INCOMPLETE)


@verify_app.command("face")
@handled
def face_cmd(
    probe: Annotated[Path, typer.Argument(help="The counter's portrait (camera)")],
    reference: Annotated[Path, typer.Argument(help="The reference face: DG2's image or the card's photo")],
    regime: Annotated[str, typer.Option(help="Regime whose threshold applies")] = "circular-08-2026",
    no_recapture_check: Annotated[bool, typer.Option(help="Skip the photo-of-a-photo check on the probe")] = False,
) -> None:
    """Match two faces offline: distance, the regime's threshold, the model and the decision.

    Exit 0 on a match, 1 otherwise (a mismatch or a refusal: no face, two faces, a photo of a photo).

    Example: subreg verify face counter.jpg dg2.jp2 --regime circular-08-2026
    """
    from subreg.bootstrap import face_model, face_thresholds
    from subreg.domain.verification.face import threshold_for
    from subreg.services.verification.chip_face import match_face

    settings = load_settings()
    model = face_model(settings)
    threshold = threshold_for(regime, face_thresholds(settings))
    decision, _ = match_face(
        _read(probe), _read(reference), model=model, threshold=threshold, live_capture=not no_recapture_check
    )
    report = {"decision": decision.decision, "reason": decision.reason, "distance": decision.distance,
              "threshold": decision.threshold, "model": decision.model}  # fmt: skip
    out.print_json(orjson.dumps(report).decode())
    if not decision.passed:
        raise typer.Exit(EXIT_INCOMPLETE)


def register(app: typer.Typer) -> None:
    """Add `subreg verify` to the main command."""
    app.add_typer(verify_app, name="verify")
