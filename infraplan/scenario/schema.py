"""Scenario schema: strict pydantic models of a scenario YAML.

Unknown keys are rejected (``extra="forbid"``), types are not coerced (``strict=True``), and ids
are checked against the catalog so that every problem is reported at once with its path.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

import pandas as pd
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from infraplan import catalog
from infraplan.errors import did_you_mean
from infraplan.policy.vocab import UseCase


def _known(table: str, value: str, kind: str) -> str:
    """Raise ValueError naming the allowed ids when ``value`` is not in catalog ``table``."""
    ids = catalog.table(table).index
    if value not in ids:
        shown = ", ".join(sorted(ids))
        msg = f"unknown {kind} {value!r}.{did_you_mean(value, ids)} Allowed: {shown}"
        raise ValueError(msg)
    return value


def _iso_country(value: str) -> str:
    """A catalog country, or any ISO 3166-1 alpha-3 code (a custom site's country)."""
    if value in catalog.table("countries").index or catalog.iso_country_name(value):
        return value
    ids = catalog.table("countries").index
    msg = (
        f"unknown country {value!r}.{did_you_mean(value, ids)} Give an ISO 3166-1 alpha-3 code; "
        f"the catalog has figures for {', '.join(sorted(ids))} (elsewhere state them yourself)"
    )
    raise ValueError(msg)


def _unique(values: list[str] | None) -> list[str] | None:
    """Refuse a list that names the same id twice (the second would be read as a mistake)."""
    if values is None:
        return None
    dup = sorted({v for v in values if values.count(v) > 1})
    if dup:
        msg = f"{dup} listed more than once; name each id once"
        raise ValueError(msg)
    return values


Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=120, pattern=r"^[^;\x00-\x1f\x7f-\x9f]+$"),
]
"""An id: 1-120 characters, no ';' (a separator in the result tables) and no control
characters."""
_PRINTABLE = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
Text = Annotated[str, StringConstraints(max_length=300, pattern=_PRINTABLE)]
"""A name or label shown in tables and the report (at most 300 characters, no control
characters)."""
LongText = Annotated[str, StringConstraints(max_length=20_000, pattern=_PRINTABLE)]
"""A description, a source or a note (at most 20,000 characters, no control characters)."""
IdList = Annotated[list[Id], Field(min_length=1), AfterValidator(_unique)]
"""A non-empty list of distinct ids (leave the key out for the default)."""


def _accelerator_ids(values: list[str]) -> list[str]:
    for a in values:
        _known("accelerators", a, "accelerator")
    return values


def _country_ids(values: list[str]) -> list[str]:
    for c in values:
        _iso_country(c)
    return values


AcceleratorList = Annotated[IdList, AfterValidator(_accelerator_ids)]
"""A non-empty list of distinct catalog accelerator ids."""
CountryList = Annotated[IdList, AfterValidator(_country_ids)]
"""A non-empty list of distinct ISO 3166-1 alpha-3 codes."""

Sector = Literal[
    "public-administration",
    "health",
    "education",
    "public-safety",
    "media",
    "industry",
    "research",
    "other",
]
DataClass = Literal["public", "personal", "health", "sensitive"]
ProfileName = Literal["office", "daytime", "evening", "flat", "round-the-clock"]
Precision = Literal["bf16", "fp8", "fp4"]

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Year = Annotated[int, Field(ge=2000, le=2100)]

_V = TypeVar("_V")


def _by_year(steps: dict[int, _V]) -> dict[int, _V]:
    """Sort a ``{year: value}`` mapping by year and refuse an empty one.

    Consumers read these mappings as step functions or interpolate between their points; sorting
    once here makes every reader (and ``model_dump``) see the same thing whatever the key order
    in the file.
    """
    if not steps:
        msg = (
            "an empty {year: value} mapping has no meaning; give at least one year, "
            "e.g. {2027: 100}, or a single number for a constant value"
        )
        raise ValueError(msg)
    return dict(sorted(steps.items()))


ByYear = Annotated[dict[Year, _V], AfterValidator(_by_year)]
"""A ``{year: value}`` mapping, normalised to ascending years; never empty."""


class Strict(BaseModel):
    """Base: strict types, unknown keys rejected, attribute docstrings become descriptions."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        use_attribute_docstrings=True,
        frozen=True,
        allow_inf_nan=False,  # every number in a scenario is finite
    )


def _pack_ref(value: str) -> str:
    from infraplan.policy.registry import parse_ref

    parse_ref(value)
    return value


def _unique_packs(values: list[str]) -> list[str]:
    names = [v.split("@")[0] for v in values]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"policy pack(s) {dup} listed more than once; name each pack once")
    return values


PackRef = Annotated[str, StringConstraints(max_length=80), AfterValidator(_pack_ref)]
"""A shipped rule pack: ``name`` or ``name@YYYY-MM[-DD]`` (the law as of that date)."""


class Horizon(Strict):
    start_year: Year
    """First year of operation planned."""
    end_year: Year
    """Last year planned (inclusive)."""
    base_year: Year | None = None
    """Year costs are discounted to (default: start_year)."""
    decision_year: Year | None = None
    """First year a build decision can be taken; capacity arrives after the site's lead time
    (default: start_year - 1)."""
    discount_rate: Annotated[float, Field(ge=0, le=0.5)] = 0.07
    """Real discount rate used for present values and capital annuities (WACC)."""

    @model_validator(mode="after")
    def _order(self) -> Horizon:
        if self.end_year < self.start_year:
            msg = f"end_year ({self.end_year}) is before start_year ({self.start_year})"
            raise ValueError(msg)
        if self.end_year - self.start_year > 30:
            msg = "the horizon may span at most 31 years"
            raise ValueError(msg)
        return self

    @property
    def years(self) -> list[int]:
        return list(range(self.start_year, self.end_year + 1))


class Economics(Strict):
    server_lifetime_years: Annotated[int, Field(ge=1, le=15)] = 5
    """Economic life of accelerator servers (Epoch AI default for 2023+ hardware: 5 years)."""
    facility_lifetime_years: Annotated[int, Field(ge=5, le=40)] = 20
    """Economic life of the datacenter facility (M&E plant 15 yr, shell 20-30 yr)."""
    network_capex_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.19
    """Cluster interconnect share of total cluster cost (Epoch AI: 19%)."""
    it_om_fraction: Annotated[float, Field(ge=0, le=0.5)] = 0.03
    """IT hardware support and spares per year, share of IT capex (estimate, 2-4%)."""
    facility_om_fraction: Annotated[float, Field(ge=0, le=0.5)] = 0.02
    """Facility O&M (staff, maintenance, insurance) per year, share of facility capex (1.5-3%)."""
    unserved_usd_per_mtok: Annotated[float, Field(ge=0)] = 5.0
    """Value of lost service: penalty per million tokens (input + output) not served. Default:
    what buying the tokens from a commercial API costs (GPT-4o list prices 2.50 USD input and
    10 USD output per million, at 3 input tokens per output token: 4.4 USD; simonw/llm-prices,
    2026), rounded to 5 USD."""
    unfinished_training_usd_per_h100_hour: NonNegFloat = 6.0
    """Value of training compute not delivered by a campaign's deadline, per H100-equivalent
    accelerator-hour (estimate: renting the missing compute in the cloud at about twice the 2026
    market median of 2.95 USD per H100-hour; economics.md)."""
    accelerator_price_decline_per_year: Annotated[float, Field(ge=0, lt=1)] = 0.0
    """Yearly decline of server prices after the catalog price year (0 = constant)."""
    capex_budget_usd: NonNegFloat | ByYear[NonNegFloat] | None = None
    """Optional cap on capital spending per year (servers, facilities, site openings), USD
    undiscounted."""


class Solver(Strict):
    integer_servers: bool = True
    """Build whole servers (default): a plan that can be bought, with the LP relaxation as its
    proven bound and the gap stated. ``false`` gives the continuous relaxation (fractional
    servers), labelled as such wherever it is shown."""
    time_limit_s: PositiveFloat = 600.0
    mip_gap: Annotated[float, Field(gt=0, lt=1)] = 0.01
    method: Literal["auto", "ipm", "simplex"] = "auto"
    """HiGHS algorithm: auto picks interior point without crossover for large LPs."""
    hour_blocks: Literal[1, 2, 3, 4, 6, 8, 12, 24] = 24
    """Representative blocks per day (24 = every hour). Fewer blocks solve faster; each block
    carries its busiest hour, so capacity stays sufficient (see docs/planning.md)."""
    column_generation: Literal["auto", "on", "off"] = "auto"
    """Solve large LPs on a restricted set of columns and add columns until pricing proves
    optimality (exact). auto: on for LPs above 150,000 variables."""
    merge_regions: bool = True
    """Merge regions whose load may go to exactly the same sites (exact with 24 hours; with
    hour blocks a merged zone carries the busiest hour of its combined demand, which is closer
    to the 24-hour answer than separate regions)."""
    merge_services: Literal["exact", "model-slo", "off"] = "exact"
    """Merge services with identical serving figures (exact) or sharing model and SLO class
    (approximate: token lengths averaged), or not at all."""


def _engine(value: str) -> str:
    """A serving-engine label the performance model resolves (``infraplan.perf.engines``)."""
    from infraplan.errors import InfraplanError
    from infraplan.perf import engines

    try:
        ref = engines.resolve(value)
    except InfraplanError as exc:
        raise ValueError(str(exc).removeprefix("engine: ")) from None
    if ref.family not in engines.USER_FAMILIES:
        msg = (f"{value!r} labels an MLPerf round, not software a plan deploys; give one of "
               f"{', '.join(engines.USER_FAMILIES)} (optionally with a version or a date)")
        raise ValueError(msg)
    return value


EngineLabel = Annotated[str, StringConstraints(min_length=1, max_length=60),
                        AfterValidator(_engine)]
Margin = Annotated[float, Field(ge=0, le=0.9)]


class Serving(Strict):
    """How the services are served: engine, capacity margin and the capacity band."""

    engine: EngineLabel = "vllm"
    """Serving engine of every service (a service may name its own): trtllm, vllm, sglang or
    generic, optionally with a release (``vllm-0.6.0``) or a date (``vllm@2024-09-05``); a bare
    family counts as its newest calibrated release. Default vllm: it runs on every vendor's
    accelerators."""
    capacity_margin: Margin = 0.0
    """Share of each server's predicted capacity held back (headroom for error and bursts)."""
    capacity_band: Literal["p10", "p50", "p90"] = "p50"
    """Which point of the performance model's error band capacities are taken at: p50 (the
    median prediction), p10 (capacity that 90 % of measured systems reach or beat) or p90."""
    band_costs: bool = True
    """Also solve the plan at the p10 and p90 capacities and report its cost there."""


class RequestBucket(Strict):
    input_tokens: Annotated[int, Field(ge=1, le=2_000_000)]
    output_tokens: Annotated[int, Field(ge=1, le=200_000)]
    share: Annotated[float, Field(gt=0, le=1)]
    """Share of the service's requests of this shape (the shares of a mix add up to 1)."""


class Region(Strict):
    id: Id
    """Region id used by services and results."""
    country: str
    """ISO 3166-1 alpha-3 code; outside the country catalog, give population, internet_share,
    lat, lon and utc_offset."""
    name: Text | None = None
    population: Annotated[float, Field(gt=0)] | None = None
    """People in the region (default: country population x population_share)."""
    population_share: Share = 1.0
    """Share of the country's population when population is not given."""
    internet_share: Share | None = None
    """Share of people online (default: the country's internet users %)."""
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    utc_offset: Annotated[float, Field(ge=-12, le=14)] | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        return _iso_country(v)


class Service(Strict):
    id: Id
    sector: Sector
    model: str
    """Model id (catalog models)."""
    requests_per_user_per_day: NonNegFloat
    input_tokens: Annotated[int, Field(ge=1, le=2_000_000)]
    output_tokens: Annotated[int, Field(ge=1, le=200_000)]
    ttft_ms: PositiveFloat
    """p99 time to first token, network round trip included."""
    tpot_ms: PositiveFloat
    """p99 time per output token."""
    network_budget_ms: NonNegFloat | None = None
    """Part of ttft_ms reserved for the network round trip (default: min(150, ttft_ms / 4))."""
    profile: ProfileName | Annotated[list[NonNegFloat], Field(min_length=24, max_length=24)] = (
        "daytime"
    )
    """Diurnal profile in local time: a named shape or 24 relative weights."""
    adoption: Share | ByYear[Share] = 1.0
    """Share of online people using the service, constant or by year (linear in between)."""
    regions: IdList | None = None
    """Regions served (default: all)."""
    data_class: DataClass = "public"
    use_case: UseCase | None = None
    """What the service is used for (docs/policy.md vocabulary); rule packs classify it by this.
    Default: the sector's usual use, with a warning."""
    kind: Literal["interactive", "batch"] = "interactive"
    """Interactive load is served in its hour; batch load may move within the day."""
    precision: Precision | None = None
    """Serving precision (default: chosen by the performance model)."""
    engine: EngineLabel | None = None
    """Serving engine of this service (default: ``serving.engine``)."""
    capacity_margin: Margin | None = None
    """Share of capacity held back for this service (default: ``serving.capacity_margin``)."""
    request_mix: Annotated[list[RequestBucket], Field(min_length=1, max_length=32)] | None = None
    """Request shapes with their shares, instead of one mean shape; capacity is computed for
    the mix. input_tokens/output_tokens must then be the mix's means (checked)."""

    @field_validator("model")
    @classmethod
    def _model(cls, v: str) -> str:
        return _known("models", v, "model")

    @model_validator(mode="after")
    def _budget(self) -> Service:
        if self.network_budget_ms is not None and self.network_budget_ms >= self.ttft_ms:
            msg = (
                f"network_budget_ms ({self.network_budget_ms}) must be below ttft_ms "
                f"({self.ttft_ms}): the server needs part of the TTFT budget"
            )
            raise ValueError(msg)
        if isinstance(self.profile, list) and sum(self.profile) <= 0:
            raise ValueError("profile weights must not all be zero")
        if self.request_mix is not None:
            total = sum(b.share for b in self.request_mix)
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"request_mix shares add up to {total:g}; they must add up to 1")
            for name in ("input_tokens", "output_tokens"):
                mean = sum(getattr(b, name) * b.share for b in self.request_mix)
                given = getattr(self, name)
                if abs(mean - given) > max(1.0, 0.01 * mean):
                    msg = (f"{name} is {given} but the request_mix averages {mean:.0f}; give the "
                           f"mix's mean ({round(mean)}) so demand in tokens matches the mix")
                    raise ValueError(msg)
        return self

    @property
    def network_ms(self) -> float:
        """Round-trip budget reserved for the network."""
        if self.network_budget_ms is not None:
            return self.network_budget_ms
        return min(150.0, self.ttft_ms / 4)


class Site(Strict):
    id: Id
    """Catalog site id, or a new id for a custom site (then country, lat, lon are required)."""
    name: Text | None = None
    country: str | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    utc_offset: Annotated[float, Field(ge=-12, le=14)] | None = None
    power_price_usd_mwh: NonNegFloat | None = None
    carbon_g_kwh: NonNegFloat | None = None
    pue: Annotated[float, Field(ge=1.0, le=3.0)] | None = None
    capex_usd_per_mw: NonNegFloat | None = None
    power_mw: NonNegFloat | ByYear[NonNegFloat] | None = None
    """Grid power available: constant or by year (step function)."""
    lead_time_months: Annotated[float, Field(ge=0, le=120)] | None = None
    accelerators: IdList | None = None
    """Accelerators allowed at this site (default: the scenario's list)."""
    opening_cost_usd: NonNegFloat | None = None
    """Fixed cost to open the site (land, grid connection, permits). Makes opening a yes/no
    decision (binary) taken in the year the first capacity arrives."""
    renewable_share: Share | None = None
    """Share of the site's grid electricity that is renewable (default 0: counted as grey)."""
    price_profile: Annotated[list[PositiveFloat], Field(min_length=24, max_length=24)] | None = None
    """Hourly power-price multipliers in the site's local time (default flat)."""

    @field_validator("country")
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        return None if v is None else _iso_country(v)


class ResidencyRule(Strict):
    """Where the data of a data class from given regions may be processed."""

    data_class: DataClass | list[DataClass]
    regions: IdList | None = None
    """Regions the rule applies to (default: all)."""
    allowed_countries: IdList | None = None
    """Host countries allowed (ISO3); ``home`` means the region's own country."""
    allowed_sites: IdList | None = None
    """Sites allowed in addition to those in allowed_countries."""
    source: LongText | None = None
    """Law or agreement behind the rule."""

    @field_validator("allowed_countries")
    @classmethod
    def _countries(cls, v: list[str] | None) -> list[str] | None:
        for c in v or []:
            if c != "home":
                _iso_country(c)
        return v


class ChipCap(Strict):
    """Cap on accelerators bought: global supply (no country) or imports into one country."""

    name: Text | None = None
    accelerators: AcceleratorList | None = None
    """Accelerators counted (default: all)."""
    country: str | None = None
    """Destination country (ISO3) for an import cap; none for a global supply cap."""
    amount: NonNegFloat | ByYear[NonNegFloat]
    """Cap per year (annual) or over the horizon (cumulative); by year for a schedule."""
    unit: Literal["accelerators", "tpp"] = "accelerators"
    """Count accelerators, or export-control TPP (2 x MacTOPS x bits per accelerator)."""
    period: Literal["annual", "cumulative"] = "annual"
    source: LongText | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        return None if v is None else _iso_country(v)


class TrainingCampaign(Strict):
    """A training or fine-tuning run that competes with inference for accelerator-hours."""

    id: Id
    flops: PositiveFloat | None = None
    """Total training FLOPs; or give params_b and tokens_b (FLOPs = 6 x params x tokens)."""
    params_b: PositiveFloat | None = None
    tokens_b: PositiveFloat | None = None
    deadline_year: Year
    """Last year of training: the run must finish by the end of this year."""
    start_year: Year | None = None
    """First year training may run (default: horizon start)."""
    mfu: Annotated[float, Field(gt=0, le=1)] = 0.4
    """Model FLOPs utilisation achieved (Epoch AI median of known runs: 0.375)."""
    precision: Literal["bf16", "fp8"] = "bf16"
    accelerators: AcceleratorList | None = None
    sites: IdList | None = None
    countries: CountryList | None = None
    """Host countries allowed (sovereign training), ISO3."""
    one_site: bool = True
    """All accelerators of the campaign at one site (binary site choice)."""

    @model_validator(mode="after")
    def _size(self) -> TrainingCampaign:
        if self.flops is None and (self.params_b is None or self.tokens_b is None):
            msg = "give flops, or params_b and tokens_b"
            raise ValueError(msg)
        if self.start_year is not None and self.start_year > self.deadline_year:
            msg = (
                f"start_year ({self.start_year}) is after deadline_year ({self.deadline_year}): "
                "the training window is empty"
            )
            raise ValueError(msg)
        return self

    @property
    def total_flops(self) -> float:
        if self.flops is not None:
            return self.flops
        return 6.0 * self.params_b * 1e9 * self.tokens_b * 1e9  # type: ignore[operator]


class Energy(Strict):
    """Carbon and renewable commitments."""

    carbon_price_usd_per_t: NonNegFloat = 0.0
    """Carbon price paid on emissions (a cost component)."""
    carbon_cap_t: NonNegFloat | ByYear[NonNegFloat] | None = None
    """Cap on emissions per year (tCO2)."""
    renewable_share_min: Share | ByYear[Share] | None = None
    """Minimum renewable share of facility energy per year (grid share + purchased PPAs)."""
    renewable_premium_usd_mwh: NonNegFloat = 10.0
    """Premium for renewable certificates / PPAs above the grid price (estimate)."""


class Partner(Strict):
    id: Id
    name: Text | None = None
    kind: Literal["government", "investor", "provider", "operator", "other"] = "other"
    country: str | None = None
    equity_share: Share | None = None
    notes: LongText | None = None


class Scenario(Strict):
    """A planning scenario: who needs what AI service, where it may run, at what cost."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=_PRINTABLE)]
    """Scenario name (1-300 characters) shown in the terminal and the report."""
    description: LongText = ""
    horizon: Horizon
    economics: Economics = Economics()
    solver: Solver = Solver()
    regions: Annotated[list[Region], Field(min_length=1)]
    services: Annotated[list[Service], Field(min_length=1)]
    sites: Annotated[list[Site], Field(min_length=1)]
    accelerators: AcceleratorList | None = None
    """Accelerators the plan may buy (default: every catalog accelerator available in time)."""
    residency: list[ResidencyRule] = []
    """Data-residency rules: where each data class may be served from."""
    chip_caps: list[ChipCap] = []
    """Chip supply and import (export-control) caps."""
    training: list[TrainingCampaign] = []
    energy: Energy = Energy()
    serving: Serving = Serving()
    partners: list[Partner] = []
    policy_packs: Annotated[list[PackRef], AfterValidator(_unique_packs)] = []
    """Rule packs to apply (``infraplan policy list``): a name, or name@YYYY-MM[-DD] to apply the
    pack as the law stood on that date."""

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        problems = reference_problems(self.model_dump())
        if problems:
            raise ValueError("; ".join(problems))
        return self


def reference_problems(data: dict) -> list[str]:
    """Cross-references inside a scenario mapping (duplicate ids, unknown regions and sites).

    Works on the raw mapping too, so that these problems are reported together with type errors.
    """
    problems: list[str] = []

    def items(key: str) -> list[dict]:
        value = data.get(key)
        return [i for i in value if isinstance(i, dict)] if isinstance(value, list) else []

    for kind in ("regions", "services", "sites", "training", "partners"):
        ids = [str(i.get("id")) for i in items(kind) if "id" in i]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            problems.append(f"{kind}: duplicate ids {dup}; each id must be unique")
    region_ids = {str(r.get("id")) for r in items("regions")}
    for i, s in enumerate(items("services")):
        regions = s.get("regions") or []
        for j, r in enumerate(regions if isinstance(regions, list) else []):
            if r not in region_ids:
                problems.append(
                    f"services[{i}].regions[{j}]: unknown region {r!r}."
                    f"{did_you_mean(str(r), region_ids)} Regions defined: {sorted(region_ids)}"
                )
    known_sites = set(catalog.sites().index)
    known_countries = set(catalog.countries().index)
    for i, reg in enumerate(items("regions")):
        country = reg.get("country")
        if isinstance(country, str) and country not in known_countries:
            missing = [f for f in _COUNTRY_FIGURES_FOR_REGIONS if reg.get(f) is None]
            if missing and catalog.iso_country_name(country):
                problems.append(
                    f"regions[{i}]: {reg.get('id')!r} is in {country}, which is not in the country "
                    f"catalog; give {', '.join(missing)} (catalog countries: "
                    f"{', '.join(sorted(known_countries))})"
                )
    accel_ids = set(catalog.accelerators().index)
    for i, site in enumerate(items("sites")):
        sid = str(site.get("id"))
        if sid not in known_sites:
            needed = ["country", "lat", "lon", "power_mw"]
            country = site.get("country")
            if isinstance(country, str) and country not in known_countries:
                needed += list(_COUNTRY_FIGURES_FOR_SITES)
            missing = [f for f in needed if site.get(f) is None]
            if missing:
                hint = did_you_mean(sid, known_sites)
                why = (
                    f" ({country} is not in the country catalog, so its power price, grid carbon "
                    "and time zone must be given)"
                    if any(f in _COUNTRY_FIGURES_FOR_SITES for f in missing)
                    else ""
                )
                problems.append(
                    f"sites[{i}].id: {sid!r} is not a catalog site.{hint} A custom site needs "
                    f"{', '.join(missing)}{why}. Catalog sites: {', '.join(sorted(known_sites))}"
                )
        accels = site.get("accelerators") or []
        for j, a in enumerate(accels if isinstance(accels, list) else []):
            if a not in accel_ids:
                problems.append(
                    f"sites[{i}].accelerators[{j}]: unknown accelerator {a!r}."
                    f"{did_you_mean(str(a), accel_ids)} Allowed: {', '.join(sorted(accel_ids))}"
                )
    site_ids = {str(s.get("id")) for s in items("sites")}
    for i, rule in enumerate(items("residency")):
        for j, r in enumerate(rule.get("regions") or []):
            if r not in region_ids:
                problems.append(
                    f"residency[{i}].regions[{j}]: unknown region {r!r}."
                    f"{did_you_mean(str(r), region_ids)} Regions defined: {sorted(region_ids)}"
                )
        for j, k in enumerate(rule.get("allowed_sites") or []):
            if k not in site_ids:
                problems.append(
                    f"residency[{i}].allowed_sites[{j}]: {k!r} is not a site of this scenario."
                    f"{did_you_mean(str(k), site_ids)} Sites: {sorted(site_ids)}"
                )
    for i, t in enumerate(items("training")):
        for j, k in enumerate(t.get("sites") or []):
            if k not in site_ids:
                problems.append(
                    f"training[{i}].sites[{j}]: {k!r} is not a site of this scenario."
                    f"{did_you_mean(str(k), site_ids)} Sites: {sorted(site_ids)}"
                )
    problems += _training_problems(data, items("training"), items("sites"))
    return problems


_COUNTRY_FIGURES_FOR_SITES = ("power_price_usd_mwh", "carbon_g_kwh", "utc_offset")
"""What a custom site outside the country catalog must state (the catalog would supply it)."""
_COUNTRY_FIGURES_FOR_REGIONS = ("population", "internet_share", "lat", "lon", "utc_offset")
"""What a region outside the country catalog must state."""


def _training_problems(data: dict, campaigns: list[dict], sites: list[dict]) -> list[str]:
    """Training campaigns whose window misses the horizon or that no (site, accelerator) can run.

    Mirrors how the model places campaigns (``infraplan.model.inputs.training_tables``): a site
    offers its own accelerator list or the scenario's; the campaign's accelerators, sites and
    countries filter them; an accelerator without a peak at the campaign's precision cannot train.
    """
    problems: list[str] = []
    h = data.get("horizon")
    horizon: dict = h if isinstance(h, dict) else {}
    start, end = horizon.get("start_year"), horizon.get("end_year")
    acc = catalog.accelerators()
    cat_sites = catalog.sites()
    last = end if isinstance(end, int) else 2100
    default = data.get("accelerators") or [
        a for a in acc.index if int(acc.loc[a, "first_year"]) <= last
    ]
    for i, t in enumerate(campaigns):
        label = f"training[{i}] ({t.get('id')!r})"
        deadline = t.get("deadline_year")
        if isinstance(start, int) and isinstance(deadline, int) and deadline < start:
            problems.append(
                f"{label}.deadline_year: {deadline} is before the horizon starts ({start}); the "
                "campaign could never run. Move the deadline into the horizon or remove it."
            )
            continue
        col = "fp8_tflops" if t.get("precision") == "fp8" else "bf16_tflops"
        want_a, want_s, want_c = t.get("accelerators"), t.get("sites"), t.get("countries")
        places = []
        for site in sites:
            sid = site.get("id")
            country = site.get("country") or (
                cat_sites.at[str(sid), "country"] if sid in cat_sites.index else None
            )
            if want_s and sid not in want_s:
                continue
            if want_c and country not in want_c:
                continue
            for a in site.get("accelerators") or default:
                if a not in acc.index or a not in default or (want_a and a not in want_a):
                    continue
                peak = acc.loc[a, col]
                if not pd.isna(peak) and float(peak) > 0:
                    places.append((sid, a))
        if not places:
            asked = [
                f"{k} {v}"
                for k, v in (("accelerators", want_a), ("sites", want_s), ("countries", want_c))
                if v
            ]
            problems.append(
                f"{label}: no site of this scenario can run it"
                + (f" with {', '.join(asked)}" if asked else "")
                + f" at {t.get('precision') or 'bf16'} (a site offers its own accelerators or the "
                "scenario's; an accelerator needs a peak at the campaign's precision). Allow a "
                "site, country or accelerator that exists here."
            )
    return problems
