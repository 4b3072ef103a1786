"""Auto-configuration: precision, tensor/pipeline split and batch for each request, vectorised.

``evaluate(records)`` is the workhorse behind ``predict``, the batch CLI, the calibration and
``server_capacity``: it expands each record into its candidate configurations (blank fields are
chosen), evaluates all candidates of all records in a few numpy calls per mode, and keeps the
feasible candidate with the highest output throughput (ties: fewer accelerators per replica).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from infraplan.errors import InfraplanError
from infraplan.perf import bands, engines, serving
from infraplan.perf import model as phys
from infraplan.perf.efficiency import REFERENCE_ENGINE, Efficiency, packaged
from infraplan.perf.specs import (
    PRECISIONS,
    accel_spec,
    model_spec,
    normalise_precision,
    resolve_precision,
)

MAX_QUEUE_WAIT_S = 3600.0
"""Fixed-concurrency runs whose queue makes the first token wait longer than this are
reported infeasible (a closed-loop benchmark would time out long before)."""
MODES = ("offline", "concurrency", "server", "interactive", "qps")
#: MLPerf latency limits (p99 TTFT ms, p99 TPOT ms) used when a server/interactive row leaves
#: them blank (llama2-70b Server and Interactive scenarios)
DEFAULT_LIMITS = {"server": (2000.0, 200.0), "interactive": (450.0, 40.0)}
TP_CHOICES = (1, 2, 4, 8, 16)
PP_CHOICES = (1, 2, 4, 8)


def default_precision(accel_id: str) -> str:
    """FP8 where the accelerator supports it, else BF16 (FP4 is opt-in; see docs/perf.md)."""
    a = accel_spec(accel_id)
    return "fp8" if a.supports("fp8") else "bf16"


def _as_int(value: Any, name: str) -> int | None:
    """A positive whole number from a cell (str, number, blank/NaN -> ``None``)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        if value.strip() == "":
            return None
        try:
            value = float(value)
        except ValueError:
            raise InfraplanError(f"{name}: {value!r} is not a number") from None
    if float(value) != int(float(value)) or int(float(value)) < 1:
        raise InfraplanError(f"{name}: must be a positive whole number, got {value!r}")
    return int(float(value))


def _as_float(value: Any, name: str) -> float | None:
    """A positive number from a cell (``inf`` allowed; blank/NaN -> ``None``)."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip() == "":
            return None
        if value.strip().lower() in ("inf", "infinity"):
            return math.inf
        try:
            value = float(value)
        except ValueError:
            raise InfraplanError(f"{name}: {value!r} is not a number") from None
    value = float(value)
    if math.isnan(value):
        return None
    if value <= 0:
        raise InfraplanError(f"{name}: must be positive, got {value!r}")
    return value


def normalise(rec: dict[str, Any]) -> dict[str, Any]:
    """Validate one request and fill documented defaults; raises ``InfraplanError``."""
    model = str(rec.get("model") or "").strip()
    accel = str(rec.get("accelerator") or "").strip()
    if not model:
        raise InfraplanError("model: missing model id")
    if not accel:
        raise InfraplanError("accelerator: missing accelerator id")
    m = model_spec(model)
    a = accel_spec(accel)
    mode = str(rec.get("mode") or "").strip().lower() or None
    conc = _as_float(rec.get("concurrency"), "concurrency")
    ttft = _as_float(rec.get("ttft_ms"), "ttft_ms")
    tpot = _as_float(rec.get("tpot_ms"), "tpot_ms")
    rate = _as_float(rec.get("qps"), "qps")
    if mode is None:
        if conc:
            mode = "concurrency"
        elif ttft or tpot:
            mode = "server"
        elif rate:
            mode = "qps"
        else:
            mode = "offline"
    if mode not in MODES:
        raise InfraplanError(f"mode: unknown mode {mode!r}. Allowed: {', '.join(MODES)}")
    if mode == "concurrency" and not conc:
        raise InfraplanError("concurrency: mode 'concurrency' needs a concurrency (requests in "
                             "flight)")
    if mode in DEFAULT_LIMITS:
        d_ttft, d_tpot = DEFAULT_LIMITS[mode]
        ttft, tpot = ttft or d_ttft, tpot or d_tpot
    if mode == "qps" and not rate:
        rate = math.inf
    isl = _as_float(rec.get("isl"), "isl")
    osl = _as_float(rec.get("osl"), "osl")
    if osl is None:
        raise InfraplanError("osl: output tokens per request are required")
    if isl is None:
        isl = default_isl(model, rec.get("benchmark"))
    tp = _as_int(rec.get("tp"), "tp")
    pp = _as_int(rec.get("pp"), "pp")
    n_accel = _as_int(rec.get("n_accel"), "n_accel")
    prec = normalise_precision(rec.get("precision"))
    if prec is not None:
        prec = resolve_precision(a, prec)
    if n_accel is None:
        n_accel = (tp or 1) * (pp or 1) if tp else a.accels_per_server
    if tp and pp and tp * pp > n_accel:
        raise InfraplanError(f"tp x pp = {tp * pp} exceeds n_accel = {n_accel}")
    if tp and tp > n_accel:
        raise InfraplanError(f"tp = {tp} exceeds n_accel = {n_accel}")
    if isl + osl > m.context_length * 1.0001 and m.context_length > 0:
        raise InfraplanError(
            f"isl + osl = {isl + osl:.0f} tokens exceeds the context length of {model} "
            f"({m.context_length})"
        )
    beams = _as_int(rec.get("beams"), "beams") or 1
    max_osl = _as_float(rec.get("max_osl"), "max_osl") or osl
    if max_osl < osl:
        raise InfraplanError(f"max_osl: {max_osl:.0f} is below the mean output osl {osl:.0f}")
    n_req = _as_float(rec.get("n_requests"), "n_requests") or 500.0
    return {"model": model, "accelerator": accel, "mode": mode, "concurrency": conc,
            "ttft_ms": ttft, "tpot_ms": tpot, "qps": rate, "isl": isl, "osl": osl, "tp": tp,
            "pp": pp, "n_accel": n_accel, "precision": prec, "beams": beams, "max_osl": max_osl,
            "n_requests": n_req, "engine": (str(rec.get("engine") or "").strip() or None)}


#: documented default input length when a row leaves isl blank (see docs/perf.md)
MLPERF_ISL = {
    "llama2-70b": 230.0,
    "mixtral-8x7b": 350.0,
    "gptj-6b": 1000.0,
    "llama3.1-405b": 9429.0,
    "llama3.1-8b": 871.0,
    "deepseek-r1": 804.0,
}
DEFAULT_ISL = 1024.0


def default_isl(model: str, benchmark: object = None) -> float:
    """Mean input of the model's MLPerf dataset, else ``DEFAULT_ISL`` (docs/perf.md)."""
    return MLPERF_ISL.get(model, DEFAULT_ISL)


def candidates(req: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(precision, tp, pp) combinations to try for a normalised request."""
    m, a = model_spec(req["model"]), accel_spec(req["accelerator"])
    precs = [req["precision"]] if req["precision"] else [default_precision(req["accelerator"])]
    n = req["n_accel"]
    tps = [req["tp"]] if req["tp"] else [
        t for t in TP_CHOICES
        if t <= n and t <= max(a.domain, a.accels_per_server) and m.n_heads % t == 0
    ]
    if not req["tp"] and not tps:
        tps = [1]
    out = []
    for prec in precs:
        for t in tps:
            pps = [req["pp"]] if req["pp"] else [p for p in PP_CHOICES if t * p <= n]
            if not req["pp"] and req["tp"] is None:
                # one pipeline stage per layer at most; keep replicas whole
                pps = [p for p in pps if p <= m.n_layers]
            for p in pps:
                if t * p <= n:
                    out.append((prec, t, p))
    return out


def evaluate(records: list[dict[str, Any]], eff: Efficiency | None = None,
             errors: Literal["raise", "return"] = "raise",
             check_engines: bool = False) -> list[dict[str, Any]]:
    """Predict every record (dicts with the batch-CSV fields) with the factor table ``eff``
    (default: the packaged fit). ``errors='return'`` puts user errors into an ``error`` entry
    instead of raising; ``check_engines`` refuses engine labels nothing knows (user input;
    calibration fits labels the table does not hold yet)."""
    if eff is None:
        eff = packaged()
    reqs: list[dict | None] = []
    out: list[dict] = [{} for _ in records]
    case_recs: list[dict] = []
    owner: list[int] = []
    for i, rec in enumerate(records):
        try:
            req = normalise(rec)
            if check_engines:
                eff.check_engine(req.get("engine"))
        except InfraplanError as exc:
            if errors == "raise":
                raise
            out[i] = {"error": str(exc), "feasible": False}
            reqs.append(None)
            continue
        reqs.append(req)
        cands = candidates(req)
        if not cands:
            out[i] = {"error": "", "feasible": False,
                      "reason": "no tensor/pipeline split fits the accelerator count"}
            continue
        for prec, t, p in cands:
            case_recs.append({**req, "precision": prec, "tp": t, "pp": p})
            owner.append(i)
    if not case_recs:
        return out
    cases = phys.build_cases(case_recs, eff)
    res = _run_modes(cases, case_recs)
    owner_arr = np.asarray(owner)
    score = np.where(res["feasible"], res["output_tps"], -1.0)
    gpus = cases.tp * cases.pp
    for i, request in enumerate(reqs):
        if request is None or out[i]:
            continue
        idx = np.flatnonzero(owner_arr == i)
        # best feasible; tie-break on fewer GPUs per replica; if none is feasible, report the
        # largest group (the most memory) so that the reason names the best attempt
        if (score[idx] >= 0).any():
            best = idx[np.lexsort((gpus[idx], -score[idx]))[0]]
        else:
            best = idx[np.argmax(gpus[idx] + 1e-3 * res["reason_code"][idx])]
        out[i] = _result(case_recs[best], cases, res, int(best))
    return out


def _run_modes(cases: phys.Cases, recs: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Evaluate every case in its record's mode; feasibility, reason code, memory per case."""
    n = len(recs)
    modes = np.array([r["mode"] for r in recs])
    keys = ("output_tps", "requests_per_s", "ttft", "tpot", "batch")
    res = {k: np.zeros(n) for k in keys}
    res["feasible"] = np.zeros(n, dtype=bool)
    res["reason_code"] = np.zeros(n, dtype=int)
    for k in ("time", "compute", "memory", "comm"):
        res["it_" + k] = np.zeros(n)
    res["busy"] = np.ones(n)
    res["ttft_min"] = np.zeros(n)
    res["tpot_min"] = np.zeros(n)
    mem = phys.memory_per_gpu(cases)
    fits = mem["fits"]
    for mode in set(modes.tolist()):
        idx = np.flatnonzero(modes == mode)
        sub = cases.take(idx)
        if mode == "offline":
            r = serving.offline(sub)
            ok = np.ones(len(idx), dtype=bool)
        elif mode == "concurrency":
            r = serving.concurrency(sub, np.array([recs[i]["concurrency"] for i in idx]))
            # Requests beyond what the group holds wait in a queue; past an hour before the
            # first token the configuration serves no one (not a slow answer, no answer).
            ok = np.asarray(r["ttft"], dtype=float) <= MAX_QUEUE_WAIT_S
        elif mode in ("server", "interactive"):
            ttft = np.array([recs[i]["ttft_ms"] for i in idx]) / 1e3
            tpot = np.array([recs[i]["tpot_ms"] for i in idx]) / 1e3
            r = serving.server(sub, ttft, tpot)
            ok = r["feasible"]
            res["ttft_min"][idx] = r["ttft_min"]
            res["tpot_min"][idx] = r["tpot_min"]
        else:  # qps
            rate = np.array([recs[i]["qps"] for i in idx])
            nreq = np.array([recs[i]["n_requests"] for i in idx])
            r = serving.qps(sub, rate, nreq)
            ok = np.ones(len(idx), dtype=bool)
        for k in keys:
            res[k][idx] = r[k]
        for k in ("time", "compute", "memory", "comm"):
            res["it_" + k][idx] = r["it"][k]
        res["busy"][idx] = r["busy"]
        res["feasible"][idx] = ok & fits[idx]
        res["reason_code"][idx] = np.where(
            ~fits[idx], 1, np.where(~ok, 3 if mode == "concurrency" else 2, 0)
        )
    res["mem_weights"] = mem["weights"]
    res["mem_act"] = mem["activations"]
    res["mem_kv_per_seq"] = mem["kv_per_seq"]
    res["mem_kv_cap"] = mem["kv_capacity"]
    return res


def _bound(compute: float, memory: float, comm: float, time: float) -> str:
    """What dominates an iteration: communication, compute or memory."""
    if comm > 0.35 * time:
        return "communication"
    if compute >= memory:
        return "compute"
    return "memory"


def _result(case: dict[str, Any], cases: phys.Cases, res: dict[str, np.ndarray],
            j: int) -> dict[str, Any]:
    """The output dict of case ``j`` (the chosen configuration of one request)."""
    one = cases.take([j])
    it = {k: np.array([res["it_" + k][j]]) for k in ("time", "compute", "memory", "comm")}
    pw = phys.power(one, it, busy=res["busy"][j])
    feasible = bool(res["feasible"][j])
    tps = float(res["output_tps"][j]) if feasible else 0.0
    rps = float(res["requests_per_s"][j]) if feasible else 0.0
    total_w = float(pw["total_w"][0])
    batch = float(res["batch"][j])
    kv_used = float(res["mem_kv_per_seq"][j]) * (batch if feasible else 0.0)
    reason = ""
    if not feasible:
        reason = _reason(case, one, res, j)
    gpus_per_replica = case["tp"] * case["pp"]
    return {
        "model": case["model"], "accelerator": case["accelerator"], "mode": case["mode"],
        "n_accel": int(case["n_accel"]), "tp": int(case["tp"]), "pp": int(case["pp"]), "ep": 1,
        "replicas": int(max(case["n_accel"] // gpus_per_replica, 1)),
        "precision": case["precision"], "isl": case["isl"], "osl": case["osl"],
        "output_tokens_per_s": tps, "requests_per_s": rps,
        "ttft_ms": float(res["ttft"][j]) * 1e3 if feasible else 0.0,
        "tpot_ms": float(res["tpot"][j]) * 1e3 if feasible else 0.0,
        "batch": batch if feasible else 0.0,
        "memory_weights_gb": float(res["mem_weights"][j]) / 1e9,
        "memory_kv_cache_gb": kv_used / 1e9,
        "memory_kv_capacity_gb": float(res["mem_kv_cap"][j]) / 1e9,
        "memory_activations_gb": float(res["mem_act"][j]) / 1e9,
        "watts_per_accelerator": float(pw["watts_per_accelerator"][0]),
        "total_power_w": total_w,
        "idle_power_w": float(pw["idle_w"][0]),
        "joules_per_output_token": total_w / tps if tps > 0 else 0.0,
        "wh_per_request": total_w / rps / 3600.0 if rps > 0 else 0.0,
        "bound": _bound(float(it["compute"][0]), float(it["memory"][0]), float(it["comm"][0]),
                        float(it["time"][0])) if feasible else "",
        "feasible": feasible, "reason": reason, "error": "",
        "engine": case.get("engine") or REFERENCE_ENGINE,
        **_band(case),
    }


def _band(case: dict[str, Any]) -> dict[str, float]:
    """The out-of-sample error band of a prediction of this mode, engine and hardware family:
    ``band_p10``/``band_p90`` = measured / predicted at the 10th and 90th percentiles."""
    fam = engines.resolve(case.get("engine"), strict=False).family
    b = bands.lookup(str(case["mode"]), fam, accel_spec(case["accelerator"]).family)
    return {"band_p10": b.p10, "band_p90": b.p90}


def _reason(case: dict[str, Any], one: phys.Cases, res: dict[str, np.ndarray], j: int) -> str:
    """Why case ``j`` is infeasible, in words: memory, or latency limits out of reach."""
    if res["reason_code"][j] == 1:
        need = float(phys.weight_bytes(one)[0]) / 1e9
        have = float(one.mem[0]) * case["tp"] * case["pp"] / 1e9
        return (f"{case['model']} in {case['precision']} needs {need:.0f} GB of weights plus KV "
                f"cache; tp{case['tp']} pp{case['pp']} on {case['accelerator']} offers "
                f"{have:.0f} GB")
    if res["reason_code"][j] == 3:
        wait_h = float(res["ttft"][j]) / 3600.0
        return (f"{case['concurrency']:,.0f} requests in flight: the group holds about "
                f"{float(res['batch'][j]):,.0f} per replica at once and the rest queue, so the "
                f"first token would take {wait_h:,.1f} hours (limit "
                f"{MAX_QUEUE_WAIT_S / 3600:.0f} h); lower --concurrency or add accelerators")
    ttft, tpot = res["ttft_min"][j] * 1e3, res["tpot_min"][j] * 1e3
    return (f"latency limits unreachable: even one request per replica takes TTFT p99 "
            f"{ttft:.0f} ms (limit {case['ttft_ms']:.0f}) and TPOT p99 {tpot:.1f} ms "
            f"(limit {case['tpot_ms']:.0f})")


# --------------------------------------------------------------------------------------------
# planner interface


def search_server(model: str, accelerator: str, isl: int, osl: int, ttft_ms: float,
                  tpot_ms: float, precision: str | None, eff: Efficiency,
                  engine: str | None = None) -> tuple[dict[str, Any] | None, int]:
    """Best server-mode configuration of one instance within one server, else across two.

    Returns the best feasible result and the servers one instance spans (1 or 2), or the most
    telling infeasible result (latency before memory) and 0. Uncached; ``server_capacity``
    memoises it.
    """
    a = accel_spec(accelerator)
    aps = a.accels_per_server
    base = {"model": model, "accelerator": accelerator, "isl": isl, "osl": osl,
            "mode": "server", "ttft_ms": ttft_ms, "tpot_ms": tpot_ms, "precision": precision,
            "engine": engine}
    # one server; then two servers with a pipeline split across them
    options = [(aps, 1), (2 * aps, 2)]
    last: dict[str, Any] | None = None
    for n_accel, servers in options:
        recs = []
        for prec in ([precision] if precision else [default_precision(accelerator)]):
            for t in TP_CHOICES:
                if t > n_accel or t > max(a.domain, aps):
                    continue
                for p in PP_CHOICES:
                    g = t * p
                    if g > n_accel or n_accel % g:
                        continue
                    if servers == 2 and g <= aps:
                        continue  # groups within one server were tried already
                    recs.append({**base, "precision": prec, "tp": t, "pp": p,
                                 "n_accel": n_accel})
        if not recs:
            continue
        results = evaluate(recs, eff)
        feas = [r for r in results if r.get("feasible")]
        if feas:
            best = max(feas, key=lambda r: (r["output_tokens_per_s"], -r["tp"] * r["pp"]))
            return best, servers
        latency = [r for r in results if r.get("reason", "").startswith("latency")]
        if latency:
            last = latency[0]
        elif last is None:
            last = max(results, key=lambda r: r.get("tp", 0) * r.get("pp", 0))
    return last, 0


def precision_ok(accelerator: str, precision: str | None) -> str | None:
    """``precision`` normalised and resolved for ``accelerator`` (``None`` stays ``None``)."""
    prec = normalise_precision(precision)
    return resolve_precision(accel_spec(accelerator), prec) if prec is not None else None


def roofline_bound(model: str, accelerator: str, *, n_accel: int, tp: int, pp: int,
                   precision: str, isl: float, osl: float, beams: int = 1,
                   efficiency: Efficiency | None = None) -> float:
    """Output tokens/s no configuration of this group can exceed (efficiency 1, no overheads,
    largest batch memory allows); every prediction of the same configuration is below it.

    The bound itself uses no fitted factor; ``efficiency`` (default: the packaged fit) only
    fills the case arrays.
    """
    rec = {"model": model, "accelerator": accelerator, "n_accel": n_accel, "tp": tp, "pp": pp,
           "precision": precision, "isl": isl, "osl": osl, "beams": beams}
    cases = phys.build_cases([rec], efficiency if efficiency is not None else packaged())
    return float(phys.roofline(cases)[0])


__all__ = ["DEFAULT_LIMITS", "MODES", "PRECISIONS", "candidates", "default_precision",
           "evaluate", "normalise", "roofline_bound", "search_server"]
