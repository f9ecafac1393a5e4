"""``grading.yml``: the schema, its defaults, and validation at load.

Every key is documented in ``grading.yml`` itself. Loading fails with a
:class:`ConfigError` that names the offending key (unknown keys included), so a typo
never silently changes a grade.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

import yaml


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The eleven topics, in course order. ``grading.yml`` may configure any subset.
TOPICS = ("mlp", "embeddings", "pooling", "attention", "transformer", "autoencoder", "optimizers",
          "regularization", "batchnorm", "initialization", "finetuning")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
SUITES = ("public", "hidden")
DEFAULT_PATH = os.path.join(REPO_ROOT, "grading.yml")


class ConfigError(ValueError):
    """grading.yml is invalid; the message names the key."""


@dataclass
class Exercise:
    points: float                                             # total points of the exercise
    tests: dict[str, float] = field(default_factory=dict)     # test function name -> its points
    uses: tuple[str, ...] = ()      # exercises it may call, served by trusted references during its tests


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker process (``limits:`` in grading.yml), applied at every sandbox level."""

    memory_mb: int = 4096       # private writable memory: heap, anonymous maps, thread stacks
    processes: int = 256        # processes and threads of the worker's user
    file_size_mb: int = 64      # largest file the worker may write, its own output log included
    open_files: int = 256
    cpu_seconds: int = 1800     # CPU time of one worker over its life, all threads together
    tmp_mb: int = 64            # size of the worker's private /tmp (jailed levels)
    reply_mb: int = 256         # largest reply the judge accepts from the worker
    import_seconds: int = 120   # to start a worker and import the submission (not counted against a test)


#: Modules a submission may import (with their submodules) unless grading.yml says otherwise.
DEFAULT_IMPORTS = ("__future__", "torch", "math", "numpy", "typing", "typing_extensions", "functools",
                   "itertools", "collections", "dataclasses", "copy", "warnings", "abc", "enum", "numbers",
                   "operator", "random", "statistics", "heapq", "bisect", "contextlib", "time")


@dataclass
class Topic:
    exercises: dict[str, Exercise]
    test_timeout: float
    topic_timeout: float
    forbidden: list[str] = field(default_factory=list)        # dotted torch names (defaults' included)
    own_forbidden: list[str] = field(default_factory=list)    # the topic's own list (what it asks to write)
    forbidden_aten: list[str] = field(default_factory=list)   # aten operator names
    imports: tuple[str, ...] = DEFAULT_IMPORTS                # modules the submission may import
    limits: Limits = field(default_factory=Limits)
    timeout_factor: float = 10.0        # a test's limit: factor * the solution's time + slack ...
    timeout_slack: float = 2.0          # ... (seconds), at most test_timeout
    timeouts_per_exercise: int = 1      # after this many timeouts an exercise's other tests are not run

    @property
    def max_score(self) -> float:
        return sum(e.points for e in self.exercises.values())


@dataclass
class Grading:
    topics: dict[str, Topic]
    visibility: dict[str, str]                                # suite -> Gradescope visibility
    tolerances: dict[str, tuple[float, float]]                # dtype name -> (rtol, atol)
    submission_budget: float = 480.0                          # seconds for one whole submission


def _check_keys(data: Any, where: str, allowed: dict[str, type | tuple], required: tuple = ()) -> dict:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key '{key}' (allowed: {', '.join(allowed)})")
        if not isinstance(data[key], allowed[key]):
            raise ConfigError(f"{where}.{key}: expected {_names(allowed[key])}, got {type(data[key]).__name__}")
    for key in required:
        if key not in data:
            raise ConfigError(f"{where}: missing key '{key}'")
    return data


def _names(types: type | tuple) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in types)


def _positive(value: float, where: str) -> float:
    if isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{where}: must be a positive number, got {value!r}")
    return float(value)


def _names_list(value: list, where: str) -> list[str]:
    if not all(isinstance(n, str) and n for n in value):
        raise ConfigError(f"{where}: expected a list of names")
    return list(value)


def _limits(data: dict, base: Limits, where: str) -> Limits:
    """``base`` with the keys of ``data`` replaced; every value a positive whole number."""
    names = {f.name: int for f in fields(Limits)}
    _check_keys(data, where, names)
    values = {}
    for key, value in data.items():
        if isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{where}.{key}: must be a positive whole number, got {value!r}")
        values[key] = value
    return replace(base, **values)


def parse(data: Any, source: str = "grading.yml") -> Grading:
    number = (int, float)
    root = _check_keys(data, source, {"version": int, "defaults": dict, "tolerances": dict, "topics": dict},
                       required=("version", "topics"))
    if root["version"] != 1:
        raise ConfigError(f"{source}.version: only version 1 is understood, got {root['version']}")
    defaults = _check_keys(root.get("defaults", {}), f"{source}.defaults",
                           {"test_timeout": number, "topic_timeout": number, "visibility": dict, "limits": dict,
                            "imports": list, "forbidden": list, "timeout_factor": number,
                            "timeout_slack": number, "timeouts_per_exercise": int, "submission_budget": number})
    visibility = {"public": "visible", "hidden": "after_due_date"}
    for suite, vis in _check_keys(defaults.get("visibility", {}), f"{source}.defaults.visibility",
                                  {s: str for s in SUITES}).items():
        if vis not in VISIBILITIES:
            raise ConfigError(f"{source}.defaults.visibility.{suite}: '{vis}' is not one of {VISIBILITIES}")
        visibility[suite] = vis
    tolerances = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5),
                  "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7),
                  # gradients sum over batch and sequence: float32 round-off grows with them
                  "float32_grad": (1e-4, 1e-4), "float64_grad": (1e-7, 1e-7)}
    for dtype, tol in _check_keys(root.get("tolerances", {}), f"{source}.tolerances",
                                  {k: dict for k in tolerances}).items():
        tol = _check_keys(tol, f"{source}.tolerances.{dtype}", {"rtol": number, "atol": number},
                          required=("rtol", "atol"))
        tolerances[dtype] = (float(tol["rtol"]), float(tol["atol"]))
    test_timeout = _positive(defaults.get("test_timeout", 30), f"{source}.defaults.test_timeout")
    topic_timeout = _positive(defaults.get("topic_timeout", 600), f"{source}.defaults.topic_timeout")
    limits = _limits(defaults.get("limits", {}), Limits(), f"{source}.defaults.limits")
    imports = tuple(_names_list(defaults.get("imports", list(DEFAULT_IMPORTS)), f"{source}.defaults.imports"))
    common_forbidden = _names_list(defaults.get("forbidden", []), f"{source}.defaults.forbidden")
    timing = {key: _positive(defaults.get(key, default), f"{source}.defaults.{key}")
              for key, default in (("timeout_factor", 10), ("timeout_slack", 2), ("timeouts_per_exercise", 1))}

    topics = {}
    for name, tdata in root["topics"].items():
        where = f"{source}.topics.{name}"
        if name not in TOPICS:
            raise ConfigError(f"{where}: unknown topic (topics: {', '.join(TOPICS)})")
        tdata = _check_keys(tdata, where, {"exercises": dict, "test_timeout": number, "topic_timeout": number,
                                           "forbidden": list, "forbidden_aten": list, "imports": list,
                                           "limits": dict, "timeout_factor": number, "timeout_slack": number,
                                           "timeouts_per_exercise": int}, required=("exercises",))
        exercises = {}
        for ex_name, edata in tdata["exercises"].items():
            ewhere = f"{where}.exercises.{ex_name}"
            edata = _check_keys(edata, ewhere, {"points": number, "tests": dict, "uses": list},
                                required=("points",))
            points = _positive(edata["points"], f"{ewhere}.points")
            tests = {str(k): _positive(v, f"{ewhere}.tests.{k}") for k, v in edata.get("tests", {}).items()}
            if sum(tests.values()) > points + 1e-9:
                raise ConfigError(f"{ewhere}.tests: per-test points add up to {sum(tests.values())}, "
                                  f"more than the exercise's {points}")
            uses = tuple(_names_list(edata.get("uses", []), f"{ewhere}.uses"))
            exercises[ex_name] = Exercise(points, tests, uses)
        if not exercises:
            raise ConfigError(f"{where}.exercises: a topic needs at least one exercise")
        _check_uses(exercises, where)
        for key in ("forbidden", "forbidden_aten"):
            _names_list(tdata.get(key, []), f"{where}.{key}")
        topics[name] = Topic(
            exercises=exercises,
            test_timeout=_positive(tdata.get("test_timeout", test_timeout), f"{where}.test_timeout"),
            topic_timeout=_positive(tdata.get("topic_timeout", topic_timeout), f"{where}.topic_timeout"),
            forbidden=common_forbidden + [n for n in tdata.get("forbidden", []) if n not in common_forbidden],
            own_forbidden=list(tdata.get("forbidden", [])),
            forbidden_aten=list(tdata.get("forbidden_aten", [])),
            imports=imports + tuple(n for n in _names_list(tdata.get("imports", []), f"{where}.imports")
                                    if n not in imports),
            limits=_limits(tdata.get("limits", {}), limits, f"{where}.limits"),
            timeout_factor=_positive(tdata.get("timeout_factor", timing["timeout_factor"]), f"{where}.timeout_factor"),
            timeout_slack=_positive(tdata.get("timeout_slack", timing["timeout_slack"]), f"{where}.timeout_slack"),
            timeouts_per_exercise=int(_positive(tdata.get("timeouts_per_exercise", timing["timeouts_per_exercise"]),
                                                f"{where}.timeouts_per_exercise")),
        )
    return Grading(topics=topics, visibility=visibility, tolerances=tolerances,
                   submission_budget=_positive(defaults.get("submission_budget", 480),
                                               f"{source}.defaults.submission_budget"))


def _check_uses(exercises: dict[str, Exercise], where: str) -> None:
    """``uses`` names other exercises of the topic, without a cycle: were A to use B and B to use A,
    each could answer its tests with the other's trusted reference."""
    for name, exercise in exercises.items():
        for used in exercise.uses:
            if used not in exercises or used == name:
                raise ConfigError(f"{where}.exercises.{name}.uses: '{used}' is not another exercise of this topic")

    def visit(name: str, path: tuple[str, ...]) -> None:
        for used in exercises[name].uses:
            if used in path:
                cycle = " -> ".join(path[path.index(used):] + (used,))
                raise ConfigError(f"{where}.exercises.{name}.uses: a cycle ({cycle})")
            visit(used, path + (used,))

    for name in exercises:
        visit(name, (name,))


def load(path: str | None = None) -> Grading:
    path = path or os.environ.get("AUTOGRADER_CONFIG") or DEFAULT_PATH
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{os.path.basename(path)} is not valid YAML: {exc}") from None
    return parse(data, os.path.basename(path))
