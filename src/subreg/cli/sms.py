"""CLI: the SMS channel (`subreg sms serve|simulate|send`): 1414 look-ups, the outbox, the gateways."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import orjson
import typer

from subreg.cli._common import err, handled, open_container, out

__all__ = ["register", "sms_app"]

sms_app = typer.Typer(
    help=(
        "The SMS channel: subscribers text TTTB or TTTB <ID number> to 1414 and get what is registered.\n\n"
        "Example: subreg sms simulate --from 0901234567 TTTB"
    ),
    no_args_is_help=True,
)


@sms_app.command("serve")
def serve_cmd(
    dispatchers: Annotated[
        int,
        typer.Option(
            help="Outbox loops submitting in parallel; 0: one per SMPP window slot of each bind, 8 for Kannel"
        ),
    ] = 0,
) -> None:
    """Run the configured transport (SUBREG_SMS_TRANSPORT): MO answered, the outbox carried out, receipts applied.

    With the built-in centre (the default) replies land in the phone simulator (/pos/phone). Stop with Ctrl+C.

    Example: SUBREG_SMS_TRANSPORT=smpp SUBREG_SMPP_BINDS=127.0.0.1:2775:subreg:secret subreg sms serve
    """

    @handled
    def run() -> None:
        import signal

        from subreg.jobs.sms import SmsService

        with open_container(init=True) as container:
            service = SmsService(container, dispatchers=dispatchers)
            signal.signal(signal.SIGTERM, lambda *_: service.stop())
            err.print(f"SMS service running: transport {service.transport.name}, short code "
                      f"{container.settings.sms_short_code} (Ctrl+C stops)")  # fmt: skip
            try:
                service.run()
            except KeyboardInterrupt:
                service.stop()

    run()


@sms_app.command("simulate")
def simulate_cmd(
    text: Annotated[str, typer.Argument(help="The message text, e.g. TTTB or 'TTTB 079203001234'")],
    sender: Annotated[str, typer.Option("--from", help="The sending number, e.g. 0901234567")],
    to: Annotated[str, typer.Option("--to", help="The short code texted")] = "1414",
) -> None:
    """Answer one MO through the real grammar, look-up, audit entry and rate counter; nothing is sent.

    Prints {"replies": [{"to", "from", "text", "segments", "encoding"}]}.

    Example: subreg sms simulate --from 0901234567 "TTTB 079203001234"
    """

    @handled
    def run() -> None:
        from subreg.services.sms.inbound import receive
        from subreg.services.sms.ports import InboundMessage

        now = datetime.now(UTC)
        with open_container(init=True) as container:
            message = InboundMessage(sender, to, text, "cli", now)
            answer = receive([message], uow=container.uow(), ctx=container.sms_context(), now=now, simulated=True)[0]
        replies = [
            {"to": r.to, "from": r.sender, "text": r.text, "segments": r.segments, "encoding": r.encoding}
            for r in answer.replies
        ]
        out.print_json(orjson.dumps({"outcome": answer.outcome, "replies": replies}).decode())

    run()


@sms_app.command("send")
def send_cmd(
    text: Annotated[str, typer.Argument(help="The message text")],
    to: Annotated[str, typer.Option("--to", help="The receiving number, e.g. 0901234567")],
) -> None:
    """Queue one SMS to a number; `subreg sms serve` sends it. Audited.

    Example: subreg sms send --to 0901234567 "Cua hang mo cua den 21h"
    """

    @handled
    def run() -> None:
        from subreg.services.sms.send import send_text

        with open_container(init=True) as container:
            queued = send_text(to, text, uow=container.uow(), ctx=container.sms_context(), now=datetime.now(UTC),
                               actor=None)  # fmt: skip
        body = {"outbox_id": queued.outbox_id, "segments": queued.segments, "encoding": queued.encoding}
        out.print_json(orjson.dumps(body).decode())

    run()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""
    app.add_typer(sms_app, name="sms")
