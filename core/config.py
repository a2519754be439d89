"""Configuration of ranking, aggregates, programmes, placement, disclosure and verification: defaults, a file,
validation.

The copy the database's triggers read is written by gis.config."""

from __future__ import annotations

import copy
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from core.errors import InputError
from core.programmes import validate_entry_extras

DEFAULTS = Path(__file__).with_name("defaults.yaml")
INDICATOR_KEYS = tuple(f"k{i:02d}" for i in range(1, 15))
CATEGORIES = ("fakir_miskin", "miskin", "rentan")
PRIORITY_PARTS = ("unverified_targets", "poverty_density", "staleness", "under_coverage")
NATIONAL_PROGRAMS = ("PKH", "BPNT", "PBI-JK", "BPJS-TK")  # a figures column each (migration 0002)
PROGRAM_CODE = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` with `extra` laid over it, section by section (neither is changed)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def read(path: Path) -> dict[str, Any]:
    """A configuration file as a mapping of sections; InputError naming the file when it is not one."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the configuration: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: the configuration must be a mapping of sections")
    return data


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    return read(DEFAULTS)


def shipped(section: str) -> dict[str, Any]:
    """A copy of one section of the shipped defaults."""
    return copy.deepcopy(_shipped()[section])


def _unknown_keys(data: dict[str, Any], ref: dict[str, Any], where: str) -> list[str]:
    problems = []
    for key, value in data.items():
        if where == "" and key == "kab_kota":
            continue  # keyed by kab/kota codes: validate_kab_kota
        if key not in ref:
            problems.append(f"{where}{key}: unknown setting (known: {', '.join(ref)})")
        elif isinstance(value, dict) and isinstance(ref[key], dict):
            problems += _unknown_keys(value, ref[key], f"{where}{key}.")
    return problems


DESIL_OVER = ("kota", "provinsi", "all")  # whom a family's local desil ranks it among (migration 0016)


def validate(cfg: dict[str, Any], defaults: dict[str, Any]) -> list[str]:
    """Problems with a merged configuration, one line each."""
    problems = _unknown_keys(cfg, defaults, "")
    r, a, p, d = cfg["ranking"], cfg["aggregates"], cfg["placement"], cfg["disclosure"]
    for key in INDICATOR_KEYS:
        w = r["weights"].get(key)
        if not isinstance(w, int | float) or w < 0:
            problems.append(f"ranking.weights.{key}: must be a number >= 0, got {w!r}")
    if not problems and sum(r["weights"][k] for k in INDICATOR_KEYS) <= 0:
        problems.append("ranking.weights: at least one weight must be positive")
    cats = [r["categories"].get(c) for c in CATEGORIES]
    if not all(isinstance(c, int | float) and 0 <= c <= 100 for c in cats):
        problems.append(f"ranking.categories: scores between 0 and 100 expected, got {cats}")
    elif not cats[0] >= cats[1] >= cats[2]:
        problems.append("ranking.categories: fakir_miskin >= miskin >= rentan expected")
    if r["bps_poor_min"] not in range(1, 15):
        problems.append(f"ranking.bps_poor_min: 1..14 expected, got {r['bps_poor_min']!r}")
    if r["desil_over"] not in DESIL_OVER:
        problems.append(f"ranking.desil_over: one of {', '.join(DESIL_OVER)} expected, got {r['desil_over']!r}")
    if not (isinstance(a["city_poverty_rate"], int | float) and 0 <= a["city_poverty_rate"] <= 1):
        problems.append(f"aggregates.city_poverty_rate: a share 0..1 expected, got {a['city_poverty_rate']!r}")
    for key in ("poor_desil_max", "target_desil_max", "inclusion_desil_min", "desil_gap"):
        if a[key] not in range(1, 11):
            problems.append(f"aggregates.{key}: 1..10 expected, got {a[key]!r}")
    if not (isinstance(p["tolerance_m"], int | float) and 0 <= p["tolerance_m"] <= 10_000):
        problems.append(f"placement.tolerance_m: 0..10000 metres expected, got {p['tolerance_m']!r}")
    lo, hi = d["geomask_min_m"], d["geomask_max_m"]
    if not (isinstance(lo, int | float) and isinstance(hi, int | float) and 0 < lo < hi <= 5000):
        problems.append(f"disclosure: 0 < geomask_min_m < geomask_max_m <= 5000 expected, got {lo!r}, {hi!r}")
    national = tuple(e["code"] for e in cfg.get("programs", {}).get("national") or [] if isinstance(e, dict)
                     and isinstance(e.get("code"), str))  # fmt: skip
    problems += validate_programs(cfg.get("programs", {}), national)
    problems += validate_kab_kota(cfg.get("kab_kota", {}), national)
    return problems + validate_verval(cfg.get("verval", {}))


KOTA_CODE = re.compile(r"\d{2}\.\d{2}")
KOTA_SETTINGS = {"aggregates": {"city_poverty_rate"}, "programs": {"local"},
                 "verval": {"approval_steps"}}  # what one kab/kota may set
APPROVAL_STEPS = (1, 2)  # 1: a verifier officer decides; 2: the officer checks, a head of office decides


def validate_kab_kota(k: Any, national: tuple[str, ...] = ()) -> list[str]:
    """Problems with the settings of single kab/kota: codes PP.KK, each with only its own poverty rate, local
    programmes and approval steps, validated as the deployment's are."""
    if not isinstance(k, dict):
        return [f"kab_kota: a mapping of kab/kota codes expected, got {k!r}"]
    problems = []
    for code, own in k.items():
        where = f"kab_kota.{code}"
        if not isinstance(code, str) or not KOTA_CODE.fullmatch(code):
            problems.append(f"{where}: a kab/kota code like 15.71 expected (quote it in YAML: \"15.71\")")
            continue
        if not isinstance(own, dict):
            problems.append(f"{where}: a mapping of settings expected, got {own!r}")
            continue
        for section, values in own.items():
            allowed = KOTA_SETTINGS.get(section)
            if allowed is None or not isinstance(values, dict) or not set(values) <= allowed:
                known = "; ".join(f"{s}: {', '.join(sorted(v))}" for s, v in KOTA_SETTINGS.items())
                problems.append(f"{where}.{section}: a kab/kota may set only {known}")
        rate = own.get("aggregates", {}).get("city_poverty_rate") if isinstance(own.get("aggregates"), dict) else None
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1):
            problems.append(f"{where}.aggregates.city_poverty_rate: a share 0..1 expected, got {rate!r}")
        programs = own.get("programs")
        if isinstance(programs, dict) and "local" in programs:
            problems += [f"{where}.{p}" for p in validate_programs(programs, national)]
        own_verval = own.get("verval")
        if isinstance(own_verval, dict) and "approval_steps" in own_verval:
            problems += [f"{where}.{p}" for p in validate_approval_steps(own_verval["approval_steps"])]
    return problems


def validate_programs(p: dict[str, Any], national: tuple[str, ...] = ()) -> list[str]:
    """Problems with the programmes: the local ones a list of {code, name} (codes as the registry writes them, no
    national programme and no code twice), and the national ones (programs.national) likewise; either may carry
    the exchange settings of core.programmes (owner, period, eligibility). `national`: the deployment's national
    codes, for a kab/kota's own list."""
    problems = _programme_list(p.get("local"), "programs.local", (*NATIONAL_PROGRAMS, *national))
    if "national" in p:
        problems += _programme_list(p["national"], "programs.national", ())
    if "cutoff_day" in p:
        day = p["cutoff_day"]
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 28:
            problems.append(f"programs.cutoff_day: a day of the month 1..28 expected, got {day!r}")
    return problems


def _programme_list(entries: Any, where_list: str, reserved: tuple[str, ...]) -> list[str]:
    if not isinstance(entries, list):
        return [f"{where_list}: a list of {{code, name}} expected, got {entries!r}"]
    problems, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"{where_list}[{i}]"
        if not isinstance(entry, dict) or not {"code", "name"} <= set(entry):
            problems.append(f"{where}: a mapping with code and name (and optionally owner, period, eligibility)"
                            f" expected, got {entry!r}")  # fmt: skip
            continue
        code, name = entry["code"], entry["name"]
        if not isinstance(code, str) or not PROGRAM_CODE.fullmatch(code) or len(code) > 40:
            problems.append(f"{where}.code: upper-case letters and digits joined by '-' expected, got {code!r}")
        elif code in reserved:
            problems.append(f"{where}.code: {code} is a national programme, counted on its own")
        elif code in seen:
            problems.append(f"{where}.code: {code} is listed twice")
        seen.add(code)
        if not isinstance(name, str) or not name.strip() or len(name) > 80:
            problems.append(f"{where}.name: a name of 1..80 characters expected, got {name!r}")
        problems += validate_entry_extras(entry, where)
    return problems


_VERVAL_LIMITS = {  # setting: (smallest, largest)
    "max_distance_m": (1, 10_000), "max_speed_kmh": (1, 1_000), "burst_visits": (1, 1_000),
    "burst_minutes": (1, 1_440), "identical_run": (2, 1_000), "max_accuracy_m": (1, 10_000),
    "backcheck_rate": (0.001, 1),
}  # fmt: skip


def validate_verval(v: dict[str, Any]) -> list[str]:
    """Problems with the verification settings (thresholds of the objectivity checks, priority, proposal)."""
    problems = []
    for key, (lo, hi) in _VERVAL_LIMITS.items():
        x = v.get(key)
        if isinstance(x, bool) or not isinstance(x, int | float) or not lo <= x <= hi:
            problems.append(f"verval.{key}: a number {lo}..{hi} expected, got {x!r}")
    w = v.get("priority_weights", {})
    parts = [w.get(k) for k in PRIORITY_PARTS]
    if not all(isinstance(x, int | float) and not isinstance(x, bool) and x >= 0 for x in parts):
        problems.append(f"verval.priority_weights: numbers >= 0 expected for {', '.join(PRIORITY_PARTS)}")
    elif abs(sum(parts) - 1) > 1e-6:  # type: ignore[arg-type]
        problems.append(f"verval.priority_weights: must sum to 1, got {sum(parts)}")  # type: ignore[arg-type]
    p = v.get("proposal", {})
    if not isinstance(p.get("keep_head_off_own_rt"), bool):
        problems.append("verval.proposal.keep_head_off_own_rt: true or false expected")
    bw = p.get("balance_weight")
    if isinstance(bw, bool) or not isinstance(bw, int | float) or not 0 <= bw <= 1000:
        problems.append(f"verval.proposal.balance_weight: a number 0..1000 expected, got {bw!r}")
    cap = p.get("default_capacity")
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= 10_000:
        problems.append(f"verval.proposal.default_capacity: a whole number 1..10000 expected, got {cap!r}")
    problems += validate_approval_steps(v.get("approval_steps"))
    return problems


def validate_approval_steps(steps: Any) -> list[str]:
    """Problems with the number of approval steps: 1 (a verifier officer) or 2 (then a head of office)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps not in APPROVAL_STEPS:
        return [f"verval.approval_steps: 1 (verifier officer) or 2 (verifier officer, then head of office) expected, "
                f"got {steps!r}"]
    return []


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Defaults merged with `path` (or $PETA_CONFIG); InputError listing every problem."""
    defaults = read(DEFAULTS)
    chosen = path or (Path(os.environ["PETA_CONFIG"]) if os.environ.get("PETA_CONFIG") else None)
    cfg = merge(defaults, read(chosen)) if chosen else defaults
    problems = validate(cfg, defaults)
    if problems:
        raise InputError(f"{chosen or DEFAULTS}: invalid configuration", problems)
    return cfg
