"""Completeness rule sets: one module per regulatory regime, chosen by name.

`nd49-2017` (Decree 49/2017/ND-CP) is the base regime and the default. Later regimes are added
BESIDE it as new modules that reuse it, never by editing it, so that records can still be re-checked
under the rules in force when they were captured:

* population-DB matching (PM Decision 06/2022, 2022-23): `class Pdb2022RuleSet(Nd49RuleSet)` with
  `name = "pdb-2022"`, overriding `extra_checks` to require a match result (e.g. a
  `population_db.matched` field) and to report mismatches of name / date of birth / ID number;
* Decree 163/2024: a subclass that widens `ID_TYPE_SPECS` (e.g. `can_cuoc`, `e_id`: one
  `IdTypeSpec` each, id_documents/types.py), declares the fields it adds (`HOLDER_FIELDS`, ... and
  `EXTRA_MISSING_ITEMS`), and changes `CONTRACT_FROM_ORDINAL` or the signer's documents by
  overriding `_signer_documents`;
* face biometrics (Circular 08/2026): a subclass of the 163 set whose `extra_checks` requires a face
  match against the national database.

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
from subreg.domain.compliance.rules.nd49_2017 import Nd49RuleSet, Person

__all__ = [
    "DEFAULT_RULE_SET",
    "RULE_SETS",
    "CheckResult",
    "Nd49RuleSet",
    "Person",
    "RuleSet",
    "get_rule_set",
]

DEFAULT_RULE_SET = "nd49-2017"

_REGISTRY: dict[str, type[Nd49RuleSet]] = {
    Nd49RuleSet.name: Nd49RuleSet,
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
