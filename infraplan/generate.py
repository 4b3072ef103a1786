"""Synthetic but realistic scenarios for scale tests and benchmarks.

Regions are sub-regions of real catalog countries (population split in proportion, coordinates
jittered around the country centre); sites are real catalog hubs, and beyond those, jittered
copies of them (``frankfurt-2``) with the hub's prices and a share of its power. Services come
from templates of real public-service workloads. Everything is reproducible from ``seed``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infraplan import catalog

AREAS: dict[str, list[str]] = {
    "emea": [
        "ARE",
        "SAU",
        "QAT",
        "FRA",
        "DEU",
        "GBR",
        "IRL",
        "NLD",
        "NOR",
        "SWE",
        "FIN",
        "KEN",
        "NGA",
        "ZAF",
        "MAR",
        "EGY",
    ],
    "americas": ["USA", "CAN", "BRA"],
    "asia": ["IND", "JPN", "KOR", "SGP", "IDN", "ARE", "SAU"],
}
EU = {"FRA", "DEU", "IRL", "NLD", "SWE", "FIN"}
EEA_ADEQUATE = EU | {"NOR", "GBR", "JPN", "KOR", "CAN"}
GCC = {"ARE", "SAU", "QAT"}

SERVICE_TEMPLATES: list[dict[str, Any]] = [
    {
        "id": "citizen-assistant",
        "sector": "public-administration",
        "model": "llama3.3-70b",
        "requests_per_user_per_day": 2.0,
        "input_tokens": 1500,
        "output_tokens": 400,
        "ttft_ms": 2000,
        "tpot_ms": 50,
        "profile": "daytime",
        "data_class": "personal",
        "adoption": {0: 0.05, -1: 0.4},
    },
    {
        "id": "health-triage",
        "sector": "health",
        "model": "qwen3-235b-a22b",
        "requests_per_user_per_day": 0.2,
        "input_tokens": 2000,
        "output_tokens": 500,
        "ttft_ms": 1500,
        "tpot_ms": 40,
        "profile": "daytime",
        "data_class": "health",
        "adoption": {0: 0.03, -1: 0.3},
    },
    {
        "id": "education-tutor",
        "sector": "education",
        "model": "qwen3-30b-a3b",
        "requests_per_user_per_day": 3.0,
        "input_tokens": 1000,
        "output_tokens": 600,
        "ttft_ms": 1500,
        "tpot_ms": 40,
        "profile": "evening",
        "data_class": "personal",
        "adoption": {0: 0.03, -1: 0.25},
    },
    {
        "id": "public-safety",
        "sector": "public-safety",
        "model": "llama3.1-8b",
        "requests_per_user_per_day": 0.3,
        "input_tokens": 4000,
        "output_tokens": 300,
        "ttft_ms": 3000,
        "tpot_ms": 100,
        "profile": "round-the-clock",
        "data_class": "sensitive",
        "adoption": 1.0,
    },
    {
        "id": "research-assistant",
        "sector": "research",
        "model": "deepseek-r1",
        "requests_per_user_per_day": 5.0,
        "input_tokens": 3000,
        "output_tokens": 2000,
        "ttft_ms": 3000,
        "tpot_ms": 50,
        "profile": "office",
        "data_class": "public",
        "adoption": {0: 0.002, -1: 0.01},
    },
    {
        "id": "industry-copilot",
        "sector": "industry",
        "model": "gpt-oss-120b",
        "requests_per_user_per_day": 1.0,
        "input_tokens": 2000,
        "output_tokens": 500,
        "ttft_ms": 2000,
        "tpot_ms": 40,
        "profile": "office",
        "data_class": "public",
        "adoption": {0: 0.01, -1: 0.08},
    },
    {
        "id": "media-assistant",
        "sector": "media",
        "model": "llama4-maverick",
        "requests_per_user_per_day": 1.0,
        "input_tokens": 1000,
        "output_tokens": 500,
        "ttft_ms": 2000,
        "tpot_ms": 50,
        "profile": "evening",
        "data_class": "public",
        "adoption": {0: 0.01, -1: 0.1},
    },
    {
        "id": "document-batch",
        "sector": "public-administration",
        "model": "llama3.1-70b",
        "requests_per_user_per_day": 0.5,
        "input_tokens": 6000,
        "output_tokens": 500,
        "ttft_ms": 10000,
        "tpot_ms": 200,
        "profile": "office",
        "data_class": "public",
        "kind": "batch",
        "adoption": {0: 0.02, -1: 0.2},
    },
]
ACCELERATOR_ORDER = [
    "h100-sxm",
    "h200-sxm",
    "b200",
    "mi300x",
    "mi355x",
    "gb200",
    "b300",
    "mi325x",
    "gaudi3",
    "gb300",
    "h100-nvl",
    "l40s",
]


def _round(x: float, digits: int = 4) -> float:
    return float(round(float(x), digits))


def generate(
    regions: int = 20,
    sites: int = 15,
    years: int = 5,
    services: int = 4,
    accelerators: int = 4,
    seed: int = 0,
    area: str = "emea",
    start_year: int = 2027,
    residency: bool = True,
    chip_caps: bool = True,
    training: bool = True,
) -> dict[str, Any]:
    """Return a scenario mapping (ready for ``parse_scenario`` or YAML)."""
    rng = np.random.default_rng(seed)
    countries = catalog.countries()
    pool = [c for c in AREAS.get(area, list(countries.index)) if c in countries.index]
    if area == "world":
        pool = list(countries.index)
    if not pool:
        msg = f"unknown area {area!r}; choose one of {sorted([*AREAS, 'world'])}"
        raise ValueError(msg)

    # Regions: every pool country at least once (if regions allow), the rest by population.
    pop = countries.loc[pool, "population_m"].to_numpy(dtype=float)
    n_per = np.zeros(len(pool), dtype=int)
    order = rng.permutation(len(pool))
    for i in order[: min(regions, len(pool))]:
        n_per[i] = 1
    for _ in range(regions - n_per.sum()):
        i = int(np.argmax(pop / (n_per + 1) * (n_per > 0) + (n_per == 0) * -1))
        n_per[i] += 1
    reg: list[dict[str, Any]] = []
    for i, iso in enumerate(pool):
        k = int(n_per[i])
        if k == 0:
            continue
        c = countries.loc[iso]
        spread = min(6.0, 0.6 + 0.012 * float(c["population_m"]) ** 0.5 * 10)
        shares = rng.dirichlet(np.full(k, 4.0)) if k > 1 else np.array([1.0])
        for j in range(k):
            reg.append(
                {
                    "id": f"{iso.lower()}-{j + 1}" if k > 1 else iso.lower(),
                    "country": iso,
                    "population_share": _round(shares[j]),
                    "lat": _round(np.clip(float(c["lat"]) + rng.normal(0, spread / 2), -60, 70), 2),
                    "lon": _round(float(c["lon"]) + rng.normal(0, spread / 2), 2),
                }
            )

    # Sites: real hubs in the area's countries first, then jittered copies.
    cat_sites = catalog.sites()
    hubs = [s for s in cat_sites.index if cat_sites.loc[s, "country"] in set(pool)]
    if not hubs:
        hubs = list(cat_sites.index)
    hubs = [hubs[i] for i in rng.permutation(len(hubs))]
    site_list: list[dict[str, Any]] = []
    copies: dict[str, int] = {}
    for n in range(sites):
        hub = hubs[n % len(hubs)]
        if n < len(hubs):
            site_list.append({"id": hub})
            continue
        copies[hub] = copies.get(hub, 1) + 1
        row = cat_sites.loc[hub]
        steps = catalog.parse_year_steps(str(row["power_mw"]))
        share = float(rng.uniform(0.2, 0.6))
        site_list.append(
            {
                "id": f"{hub}-{copies[hub]}",
                "country": str(row["country"]),
                "lat": _round(float(row["lat"]) + rng.normal(0, 1.0), 2),
                "lon": _round(float(row["lon"]) + rng.normal(0, 1.0), 2),
                "utc_offset": float(row["utc_offset"]),
                "power_price_usd_mwh": _round(
                    float(row["power_price_usd_mwh"]) * rng.uniform(0.85, 1.15), 1
                ),
                "carbon_g_kwh": float(row["carbon_g_kwh"]),
                "pue": float(row["pue"]),
                "capex_usd_per_mw": _round(
                    float(row["capex_usd_per_mw"]) * rng.uniform(0.9, 1.1), 0
                ),
                "power_mw": {int(y): _round(v * share, 1) for y, v in steps.items()},
                "lead_time_months": float(row["lead_time_months"]),
            }
        )

    first, last = start_year, start_year + years - 1
    svc: list[dict[str, Any]] = []
    for t in SERVICE_TEMPLATES[:services]:
        s = {k: v for k, v in t.items() if k != "adoption"}
        s["requests_per_user_per_day"] = _round(
            t["requests_per_user_per_day"] * rng.uniform(0.7, 1.3), 3
        )
        a = t["adoption"]
        s["adoption"] = a if isinstance(a, float) else {first: a[0], last: a[-1]}
        svc.append(s)
    if services > len(SERVICE_TEMPLATES):
        msg = f"at most {len(SERVICE_TEMPLATES)} service templates"
        raise ValueError(msg)

    accs = ACCELERATOR_ORDER[:accelerators]
    scn: dict[str, Any] = {
        "name": f"synthetic {area}: {regions} regions, {sites} sites, {years} years (seed {seed})",
        "description": "Generated by infraplan generate: real countries and hubs, jittered.",
        "horizon": {
            "start_year": first,
            "end_year": last,
            "decision_year": first - 2,
            "discount_rate": 0.07,
        },
        "regions": reg,
        "services": svc,
        "sites": site_list,
        "accelerators": accs,
    }
    present = {r["country"] for r in reg}
    if residency:
        site_countries = {
            str(cat_sites.loc[x["id"], "country"]) if x["id"] in cat_sites.index else x["country"]
            for x in site_list
        }
        hosted = [r["id"] for r in reg if r["country"] in site_countries]
        rules: list[dict[str, object]] = []
        if hosted:
            rules.append(
                {
                    "data_class": ["health", "sensitive"],
                    "regions": hosted,
                    "allowed_countries": ["home"],
                    "source": "health and security data stay in the home country",
                }
            )
        eu_regions = [r["id"] for r in reg if r["country"] in EU]
        if eu_regions and site_countries & EEA_ADEQUATE:
            rules.append(
                {
                    "data_class": "personal",
                    "regions": eu_regions,
                    "allowed_countries": sorted(EEA_ADEQUATE),
                    "source": "GDPR Chapter V: EEA or adequacy countries",
                }
            )
        gcc_regions = [r["id"] for r in reg if r["country"] in GCC]
        if gcc_regions and site_countries & GCC:
            rules.append(
                {
                    "data_class": "personal",
                    "regions": gcc_regions,
                    "allowed_countries": sorted(GCC),
                    "source": "GCC personal data kept in the Gulf (scenario assumption)",
                }
            )
        if rules:
            scn["residency"] = rules
    if chip_caps:
        caps = []
        for iso in sorted(present & GCC):
            caps.append(
                {
                    "name": f"{iso} import licence",
                    "country": iso,
                    "unit": "tpp",
                    "amount": 790_000_000.0,
                    "period": "cumulative",
                    "source": "AI Diffusion rule tier-2 cap (scenario assumption)",
                }
            )
        caps.append(
            {
                "name": f"{accs[-1]} supply",
                "accelerators": [accs[-1]],
                "amount": 200_000.0,
                "period": "annual",
                "source": "global supply allocation (scenario assumption)",
            }
        )
        scn["chip_caps"] = caps
    if training and years >= 2:
        scn["training"] = [
            {
                "id": "sovereign-llm",
                "params_b": 70.0,
                "tokens_b": 15_000.0,
                "deadline_year": min(last, first + 1),
                "mfu": 0.4,
            }
        ]
    return scn
