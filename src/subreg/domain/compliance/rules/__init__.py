"""Completeness rule sets: one module per regulatory regime, chosen by name.

`nd49-2017` (Decree 49/2017/ND-CP) is the base regime and the default. Later regimes are added
BESIDE it as new modules that reuse it, never by editing it, so that records can still be re-checked
under the rules in force when they were captured:

* `population-db-2023` (PM Decision 06/2022, 2022-23; population_db_2023.py): `Nd49RuleSet` whose
  `extra_checks` requires a population-database match (missing item `verification.population_db`);
* `nd163-2024` (Decree 163/2024; nd163_2024.py): the population-DB set widened with the chip card
  `can_cuoc` and the e-ID `e_id` (`ID_TYPE_SPECS`) and the `vneid` channel;
* `circular-08-2026` (face biometrics; circular_08_2026.py): the 163 set whose `extra_checks` also
  requires a face match for new subscriptions (missing item `verification.face`).

A subclass inherits every Decree 49 check; composition works too (wrap an `Nd49RuleSet` and merge
its `CheckResult` with your own). Register the new class in `_REGISTRY` below; nothing else changes:
forms, storage, statistics and the CSV shape read the vocabulary from the rule set (`id_types`,
`holder_fields`, `typed_holder_fields`, `csv_columns`, `missing_items`), and normalization keeps
exactly the declared fields. A hook that depends on `as_of` must also extend `valid_until`.
Rule sets are stateless, so one instance per name is shared.
"""

from __future__ import annotations

from subreg.domain.common.errors import FieldValueError
from subreg.domain.compliance.rules.base import CheckResult, RuleSet
from subreg.domain.compliance.rules.circular_08_2026 import Circular08RuleSet
from subreg.domain.compliance.rules.nd49_2017 import Nd49RuleSet, Person
from subreg.domain.compliance.rules.nd163_2024 import Nd163RuleSet
from subreg.domain.compliance.rules.population_db_2023 import PopulationDb2023RuleSet

__all__ = [
    "DEFAULT_RULE_SET",
    "RULE_SETS",
    "CheckResult",
    "Circular08RuleSet",
    "Nd49RuleSet",
    "Nd163RuleSet",
    "Person",
    "PopulationDb2023RuleSet",
    "RuleSet",
    "get_rule_set",
]

DEFAULT_RULE_SET = "nd49-2017"

_REGISTRY: dict[str, type[Nd49RuleSet]] = {
    Nd49RuleSet.name: Nd49RuleSet,
    PopulationDb2023RuleSet.name: PopulationDb2023RuleSet,
    Nd163RuleSet.name: Nd163RuleSet,
    Circular08RuleSet.name: Circular08RuleSet,
}
RULE_SETS: tuple[str, ...] = tuple(_REGISTRY)
_instances: dict[str, RuleSet] = {}


def get_rule_set(name: str = DEFAULT_RULE_SET) -> RuleSet:
    """The rule set called `name`; raises FieldValueError("unknown_rule_set", "rule_set")."""
    rules = _instances.get(name)
    if rules is None:
        cls = _REGISTRY.get(name) if isinstance(name, str) else None
        if cls is None:
            raise FieldValueError("unknown_rule_set", "rule_set")
        rules = _instances[name] = cls()
    return rules
