"""What every `subreg` command shares: the consoles, the exit codes, the settings, the container, error
handling (errors become exit codes in exactly one place: `handled`) and dates typed on the command line."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

import typer
from rich.console import Console

from subreg.config import Settings
from subreg.domain.common.errors import ExternalServiceError, InputError, SubregError
from subreg.domain.common.messages import message_for

__all__ = [
    "EXIT_INCOMPLETE",
    "EXIT_OK",
    "EXIT_UNREADABLE",
    "err",
    "handled",
    "load_settings",
    "open_container",
    "out",
    "parse_date",
]

F = TypeVar("F", bound=Callable[..., Any])

err = Console(stderr=True)
out = Console()

EXIT_OK, EXIT_INCOMPLETE, EXIT_UNREADABLE = 0, 1, 2


def load_settings() -> Settings:
    """The settings of this run (environment and `.env`)."""
    return Settings()


@contextmanager
def open_container(*, init: bool = False) -> Iterator[Any]:
    """The container for a command, built from the settings and closed afterwards; `init`: migrate first."""
    from subreg.bootstrap import bootstrap, init_storage

    settings = load_settings()
    if init:
        init_storage(settings)
    container = bootstrap(settings)
    try:
        yield container
    finally:
        container.close()


def regime_for(settings: Settings, day: date, explicit: str | None) -> Any:
    """The rule set to answer under: `--rule-set` if given, else the regime schedule's on `day`, else the
    setting `rule_set` (an unknown name is an InputError at `--rule-set`)."""
    from subreg.domain.common.errors import FieldError
    from subreg.domain.compliance.rules import RULE_SETS, get_rule_set
    from subreg.domain.compliance.timeline import parse_regime_schedule

    if explicit is not None:
        if explicit not in RULE_SETS:
            raise InputError([FieldError("--rule-set", "unknown_rule_set")])
        return get_rule_set(explicit)
    scheduled = parse_regime_schedule(settings.regime_schedule, RULE_SETS).regime_on(day)
    return get_rule_set(scheduled or settings.rule_set)


def parse_date(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option, or exit 2 naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]{option}: expected a date YYYY-MM-DD[/red]")
        raise typer.Exit(EXIT_UNREADABLE) from None


def handled(fn: F) -> F:
    """Map subreg errors to messages and exit codes (2 for unreadable/invalid input)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        lang = load_settings().lang
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            for e in exc.errors:
                err.print(f"[red]{e.field or '-'}: {e.code}[/red] — {message_for(e.code, e.field, lang)}")
            raise typer.Exit(EXIT_UNREADABLE) from None
        except ExternalServiceError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(EXIT_UNREADABLE) from None
        except SubregError as exc:
            err.print(f"[red]{exc.code}[/red]: {exc}")
            raise typer.Exit(EXIT_UNREADABLE) from None

    return wrapper  # type: ignore[return-value]
