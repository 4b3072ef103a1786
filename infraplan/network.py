"""Network latency between regions and sites from great-circle distance.

rtt_ms = 2 x distance_km x route_factor / fibre_km_per_ms + overhead_ms

Light in fibre travels about 200 km per ms; real routes are about 1.5x longer than the great
circle (a common planning rule of thumb); a small fixed overhead covers last-mile and switching.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088
FIBRE_KM_PER_MS = 200.0
ROUTE_FACTOR = 1.5
OVERHEAD_MS = 2.0


def great_circle_km(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
) -> np.ndarray:
    """Haversine distance in km; broadcasts over numpy arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def rtt_ms(distance_km: np.ndarray | float) -> np.ndarray:
    """Round-trip time in ms for a great-circle distance."""
    return 2 * np.asarray(distance_km) * ROUTE_FACTOR / FIBRE_KM_PER_MS + OVERHEAD_MS


def rtt_matrix(
    region_lat: np.ndarray, region_lon: np.ndarray, site_lat: np.ndarray, site_lon: np.ndarray
) -> np.ndarray:
    """Round-trip times (regions x sites) in ms."""
    d = great_circle_km(
        np.asarray(region_lat)[:, None],
        np.asarray(region_lon)[:, None],
        np.asarray(site_lat)[None, :],
        np.asarray(site_lon)[None, :],
    )
    return rtt_ms(d)
