"""Demand: requests/s per region x service x year x hour (UTC).

users(r, s, y)      = population(r) x internet_share(r) x adoption(s, y)
requests/day        = users x requests_per_user_per_day(s)
requests/s (h_utc)  = requests/day x profile(s)[local hour of h_utc] / 3600

The profile is a 24-hour shape in local time normalised to sum 1; converting it to UTC lets
regions in different time zones share capacity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from infraplan import catalog
from infraplan.scenario import Scenario, Service
from infraplan.units import as_float

HOURS = np.arange(24)

# Relative weights by local hour 0..23. Estimates shaped after published chat-assistant and
# web-traffic diurnal curves (low at night, office or evening peaks); users can pass 24 numbers.
_PROFILES: dict[str, list[float]] = {
    "office": [1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 16, 15, 13, 15, 16, 15, 13, 9, 6, 5, 4, 3, 2, 1],
    "daytime": [
        2,
        1,
        1,
        1,
        1,
        2,
        4,
        7,
        10,
        12,
        12,
        12,
        11,
        12,
        12,
        12,
        11,
        10,
        10,
        11,
        11,
        9,
        6,
        4,
    ],
    "evening": [3, 2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 7, 8, 10, 13, 15, 16, 14, 10, 6],
    "flat": [1] * 24,
    "round-the-clock": [6, 5, 5, 5, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 8, 7, 6],
}


def profile_weights(profile: str | list[float]) -> np.ndarray:
    """24 local-hour weights that sum to 1."""
    w = np.asarray(_PROFILES[profile] if isinstance(profile, str) else profile, dtype=float)
    return w / w.sum()


def to_utc(local: np.ndarray, utc_offset: float) -> np.ndarray:
    """Shift a 24-hour local-time series to UTC hours (fractional offsets interpolated).

    UTC hour h is local time h + offset, so value_utc[h] = local[(h + offset) mod 24].
    """
    t = (HOURS + utc_offset) % 24
    lo = np.floor(t).astype(int) % 24
    hi = (lo + 1) % 24
    frac = t - np.floor(t)
    return (1 - frac) * local[lo] + frac * local[hi]


def adoption_by_year(service: Service, years: list[int]) -> np.ndarray:
    """Adoption share per year: constant, or linear between the given years, flat outside."""
    if isinstance(service.adoption, int | float):
        return np.full(len(years), float(service.adoption))
    pts = sorted(service.adoption.items())
    xs = np.array([p[0] for p in pts], dtype=float)
    ys = np.array([p[1] for p in pts], dtype=float)
    return np.interp(np.asarray(years, dtype=float), xs, ys)


def region_table(scn: Scenario) -> pd.DataFrame:
    """Regions with catalog defaults filled: population, internet share, coordinates, time zone."""
    rows = []
    for r in scn.regions:
        c = catalog.country_row(r.country)
        population = (
            r.population
            if r.population is not None
            else (as_float(c["population_m"]) * 1e6 * r.population_share)
        )
        rows.append(
            {
                "id": r.id,
                "name": r.name or (r.id if r.population_share == 1 else f"{r.id}"),
                "country": r.country,
                "lat": r.lat if r.lat is not None else as_float(c["lat"]),
                "lon": r.lon if r.lon is not None else as_float(c["lon"]),
                "population": population,
                "internet_share": (
                    r.internet_share
                    if r.internet_share is not None
                    else as_float(c["internet_users_pct"]) / 100
                ),
                "utc_offset": r.utc_offset
                if r.utc_offset is not None
                else as_float(c["utc_offset"]),
            }
        )
    return pd.DataFrame(rows).set_index("id")


def demand_table(
    scn: Scenario, mask: Mapping[tuple[str, str], Sequence[float]] | None = None
) -> pd.DataFrame:
    """Long table: year, hour_utc, region, service, users, requests_per_s (workload-neutral;
    the workload adds its own work rates, e.g. tokens per second).

    ``mask`` maps (service, region) to a factor per year (0 where a rule pack prohibits the
    service there, or before an obligation's lead time lets it start)."""
    regions = region_table(scn)
    years = scn.horizon.years
    frames = []
    for s in scn.services:
        served = s.regions or list(regions.index)
        adopt = adoption_by_year(s, years)  # (Y,)
        local = profile_weights(s.profile)
        for rid in served:
            r = regions.loc[rid]
            users = r["population"] * r["internet_share"] * adopt  # (Y,)
            if mask is not None and (s.id, rid) in mask:
                users = users * np.asarray(mask[(s.id, rid)], dtype=float)
            shape = to_utc(local, as_float(r["utc_offset"]))  # (24,) sums to 1
            rps = np.outer(users * s.requests_per_user_per_day, shape) / 3600.0  # (Y, 24)
            frames.append(
                pd.DataFrame(
                    {
                        "year": np.repeat(years, 24),
                        "hour_utc": np.tile(HOURS, len(years)),
                        "region": rid,
                        "service": s.id,
                        "users": np.repeat(users, 24),
                        "requests_per_s": rps.ravel(),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
