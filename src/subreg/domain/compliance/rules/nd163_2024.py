"""Decree 163/2024/ND-CP (in force 24/12/2024): `nd163-2024`.

The population-database regime, plus what Decree 163 accepts (domain-facts §2): the identity card of Law
26/2023 (`can_cuoc`, chip) and the level-2 electronic identity account (`e_id`, VNeID) as ID documents beside
the CMND, CCCD and passport, and registration through VNeID (`channel = vneid`: an electronic channel that
authenticates the person, Art. 16) where Decree 49 allowed points of service only. Its timeline is Art. 25's.
"""

from __future__ import annotations

from typing import ClassVar

from subreg.domain.compliance.rules.population_db_2023 import PopulationDb2023RuleSet
from subreg.domain.compliance.timeline import ND163_2024_TIMELINE, Timeline
from subreg.domain.id_documents.types import ND163_ID_TYPE_SPECS, IdTypeSpec

__all__ = ["Nd163RuleSet"]


class Nd163RuleSet(PopulationDb2023RuleSet):
    """Population-database matching plus the chip card, the e-ID and the VNeID channel."""

    name: ClassVar[str] = "nd163-2024"
    revision: ClassVar[int] = 1
    timeline: ClassVar[Timeline] = ND163_2024_TIMELINE
    ID_TYPE_SPECS: ClassVar[tuple[IdTypeSpec, ...]] = ND163_ID_TYPE_SPECS
    CHANNELS: ClassVar[tuple[str, ...]] = (*PopulationDb2023RuleSet.CHANNELS, "vneid")
    # Remote channels that Decree 163 accepts: VNeID authenticates the person itself.
    AUTHENTICATED_CHANNELS: ClassVar[tuple[str, ...]] = ("vneid",)

    def __init__(self) -> None:
        super().__init__()
        self._remote_channels = self._remote_channels - frozenset(self.AUTHENTICATED_CHANNELS)
