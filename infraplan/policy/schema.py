"""Rule-pack schema: one rule per entry, each with its source, dates, selector and effect.

A pack is a versioned YAML file inside the package (``infraplan/policy/packs``), validated by
these strict models (unknown keys refused). Rule ids are those of the team's policy research
(``policy.md``). Dates are ISO dates; a rule is *known* at an "as of" date when it was adopted
by then and not repealed by then, and it *applies* to the plan years between its (possibly
amended) ``effective_from`` and ``effective_until``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]*(-[A-Za-z0-9.]+)+$",
                                          max_length=60)]
PackName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", max_length=60)]
Words = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Confidence = Literal["A", "B", "C"]
RiskClass = Literal["prohibited", "high-risk", "limited", "minimal"]
DataClass = Literal["public", "personal", "health", "sensitive"]

# the component-table columns a selector may name, and their kind
SERVICE_COLUMNS = {"id": "text", "sector": "text", "use_case": "text", "data_class": "text",
                   "kind": "text", "model": "text"}
ACCELERATOR_COLUMNS = {"id": "text", "vendor": "text", "family": "text", "form_factor": "text",
                       "tpp": "number", "hbm_tbps": "number", "fp8_tflops": "number"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              use_attribute_docstrings=True)


class Range(_Strict):
    """A numeric column between ``min`` (inclusive) and ``max`` (exclusive)."""

    min: float | None = None
    max: float | None = None

    def contains(self, x: float) -> bool:
        """True when ``x`` lies in [min, max)."""
        return (self.min is None or x >= self.min) and (self.max is None or x < self.max)


Match = list[str] | Range


class Selector(_Strict):
    """What a rule applies to: each given field must match (an absent field matches all).

    ``regions`` and ``sites`` name countries (ISO3) or country groups (``groups.yaml``): the
    countries of the people served, and of the sites hosting the capacity.
    """

    services: dict[str, list[str]] | None = None
    """Service columns (id, sector, use_case, data_class, kind, model) -> allowed values."""
    regions: list[str] | None = None
    """Countries or groups of the people served."""
    sites: list[str] | None = None
    """Countries or groups of the host sites."""
    accelerators: dict[str, Match] | None = None
    """Accelerator columns (id, vendor, family, form_factor, tpp, hbm_tbps, fp8_tflops) -> allowed
    values or a numeric range."""

    @model_validator(mode="after")
    def _columns(self) -> Selector:
        for name, cols, given in (("services", SERVICE_COLUMNS, self.services),
                                  ("accelerators", ACCELERATOR_COLUMNS, self.accelerators)):
            for col, want in (given or {}).items():
                if col not in cols:
                    msg = (f"selector {name}: unknown column {col!r}; declared columns: "
                           f"{', '.join(sorted(cols))}")
                    raise ValueError(msg)
                if isinstance(want, Range) and cols[col] != "number":
                    raise ValueError(f"selector {name}.{col}: a range needs a numeric column")
        return self


class Prohibit(_Strict):
    """A service may not be served to the selected people, or a chip placed at the sites."""

    kind: Literal["prohibit"]
    target: Literal["service", "accelerator"] = "service"
    exception: Words | None = None
    """Exceptions the law allows (reported; the plan assumes none applies)."""


class Residency(_Strict):
    """Data of these classes from the selected regions may be served only from ``allowed``."""

    kind: Literal["residency"]
    data_classes: Annotated[list[DataClass], Field(min_length=1)]
    allowed: Annotated[list[str], Field(min_length=1)]
    """Host countries or groups; ``home`` = the region's own country."""


class Cap(_Strict):
    """Chip imports into each selected site country, in accelerators or TPP."""

    kind: Literal["cap"]
    amount: Annotated[float, Field(gt=0)] | dict[int, Annotated[float, Field(ge=0)]]
    """A number, or {year: amount} (a step schedule, as a scenario's chip caps)."""
    unit: Literal["accelerators", "tpp"] = "accelerators"
    period: Literal["annual", "cumulative"] = "cumulative"
    exception: Words | None = None
    """Licence exceptions (reported)."""


class SiteRequirement(_Strict):
    """Design and operating limits of the selected sites."""

    kind: Literal["site"]
    pue_max: Annotated[float, Field(ge=1.0, le=3.0)] | None = None
    """Annual PUE limit: a site designed above it is not planned."""
    renewable_share_min: dict[dt.date, Annotated[float, Field(ge=0, le=1)]] | None = None
    """Renewable electricity share from each date: the shortfall against the site's own share is
    bought as certificates at ``energy.renewable_premium_usd_mwh``."""
    energy_reuse_min: Annotated[float, Field(ge=0, le=1)] | None = None
    """Energy reuse factor required (reported; heat-reuse investment is not priced)."""
    min_it_mw: Annotated[float, Field(ge=0)] = 0.0
    """Size from which the requirement applies (site power)."""
    reporting: bool = False
    """A reporting duty (reported, not priced)."""


class Obligation(_Strict):
    """Duties a service carries where the rule applies, with their cost and lead time."""

    kind: Literal["obligation"]
    risk_class: RiskClass = "minimal"
    duties: list[Words] = []
    one_off_usd: Annotated[float, Field(ge=0)] = 0.0
    """Paid once per service and jurisdiction, in the first plan year the rule applies."""
    annual_usd: Annotated[float, Field(ge=0)] = 0.0
    """Paid every plan year the rule applies, per service and jurisdiction."""
    lead_time_months: Annotated[float, Field(ge=0, le=60)] = 0.0
    """Time from the first decision year before the service may start, when the rule is in
    force at the horizon start."""
    cost_source: Words | None = None
    estimate: bool = True


class Guidance(_Strict):
    """A soft-law commitment: reported, never enforced."""

    kind: Literal["guidance"]
    principles: list[Words] = []


class Info(_Strict):
    """Binding law with no effect the plan can express (reported)."""

    kind: Literal["info"]


Effect = Annotated[Prohibit | Residency | Cap | SiteRequirement | Obligation | Guidance | Info,
                   Field(discriminator="kind")]


class Amendment(_Strict):
    """A later act that moved a rule's dates."""

    adopted: dt.date
    """When the amending act was adopted: from this "as of" date on, its dates replace the
    original ones."""
    effective_from: dt.date | None = None
    effective_until: dt.date | None = None
    source: Words


class Rule(_Strict):
    id: RuleId
    title: Words
    """What the rule is about, as a phrase ("emotion recognition in education institutions")."""
    article: Words
    source: Words
    link: Words | None = None
    confidence: Confidence
    adopted: dt.date | None = None
    """When the rule became law (an "as of" date before it does not know it)."""
    effective_from: dt.date
    effective_until: dt.date | None = None
    repealed: dt.date | None = None
    """When the rule was withdrawn or rescinded (an "as of" date on or after it drops it)."""
    amended: list[Amendment] = []
    applies_to: Selector = Selector()
    effect: Effect
    notes: Words | None = None


class Pack(_Strict):
    pack: PackName
    title: Words
    law: Words
    """The act cited in messages (e.g. "Regulation (EU) 2024/1689")."""
    version: dt.date
    """Date of the research the pack encodes; the default "as of" date."""
    jurisdiction: Words
    description: Words
    rules: Annotated[list[Rule], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> Pack:
        ids = [r.id for r in self.rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"rule ids listed more than once: {dup}")
        return self


class Group(_Strict):
    """A named list of countries, each member from a date (and until one) where that matters."""

    title: Words
    source: Words
    members: dict[str, dict[Literal["from", "until"], dt.date] | None]
    """ISO3 -> {from: date, until: date} (null: a member throughout)."""
    complement_of: list[str] | None = None
    """Instead of members: every country in none of these groups."""


class Groups(_Strict):
    groups: dict[str, Group]
