"""A synthetic class of 40 submissions for the batch tests, made from the course's own material.

Every submission holds one module per topic of ``TOPICS``, written from:

* the solutions (``correct``), the untouched stubs (``stub``), and the solutions with one exercise
  left as the stub has it (``partly``);
* the known-wrong variants of ``autograder/mutants/`` (``mutant``: the solution with the variant
  appended, as ``validate.build_mutant`` writes it);
* broken uploads (``broken``): a syntax error, a missing module, a module under another name, an
  exception at import time, an empty folder;
* hostile ones from ``autograder/attacks/`` (``hostile``: the attack appended to the stub, as the
  attack catalogue grades it), chosen among those that cost the grader little time.

Some students upload a ``.zip`` archive instead of a folder (flat, or with one top folder), and
one archive tries to write outside its folder (a bad archive). The kinds are interleaved in the
sorted order of the ids, so any half of the class holds a bit of everything.
"""
from __future__ import annotations

import os
import tempfile
import zipfile

from autograder import config as config_mod
from autograder import validate
from autograder.config import REPO_ROOT
from autograder.selftests.helpers import attack_text, make_config, solution_text, stub_text, with_definition

TOPICS = ("attention",)  # every student's modules; the class is graded on these
SIZE = 40
MUTANT_COUNT = 10  # known-wrong variants in the class, shared out among the topics
# known-wrong variants per topic, in the order they are used: each must lose points on the public suite
# (the class-run test checks it; several of the catalogue are caught by the hidden suite only)
MUTANTS = {"attention": ("no_scaling", "naive_softmax", "softmax_over_queries", "causal_without_diagonal",
                         "uses_torch_softmax", "scaled_by_e", "softmax_default_dim0", "uses_sdpa_aliased",
                         "mha_no_head_average", "mha_scaled_by_model_dim"),
           "pooling": ("avg_exclude_pad", "stride_default_one", "max_pad_zero", "global_keepdim",
                       "kernel_pair_swapped", "calls_forbidden", "adaptive_fixed_kernel", "max_grad_last_tie",
                       "avg_pad_order_swapped", "global_wrong_dims")}
# attacks on the first topic that a time limit of a few seconds (or none) contains
ATTACKS = ("endless_loop_in_call", "exit_hard", "output_flood", "nan_outputs", "monkeypatch_torch")
ATTACK_IMPORTS = ["os", "sys", "signal"]  # what exit_hard needs past the import rules, to reach the worker
ARCHIVED = {"correct-2": "flat", "correct-5": "nested", "mutant-3": "flat"}  # uploaded as .zip


def solved(topics: tuple[str, ...], except_for: str | None = None) -> dict[str, str]:
    """The solution of each topic (but ``except_for``)."""
    return {t: solution_text(t) for t in topics if t != except_for}


def kinds(topics: tuple[str, ...] = TOPICS) -> dict[str, dict[str, str] | None]:
    """Each kind of submission, by name: its modules (topic -> text), or ``None`` for the bad archive."""
    first = topics[0]
    exercises = {t: list(config_mod.load().topics[t].exercises) for t in topics}
    built: dict[str, dict[str, str] | None] = {}
    for i in range(8):
        built[f"correct-{i}"] = solved(topics)
    for i in range(3):
        built[f"stub-{i}"] = {t: stub_text(t) for t in topics}
    for i in range(8):  # one exercise left as the stub has it, in turn
        topic = topics[i % len(topics)]
        built[f"partly-{i}"] = {**solved(topics), topic: unfinished(topic, exercises[topic][i % len(exercises[topic])])}
    index = 0
    for topic in topics:
        for name in MUTANTS[topic][:MUTANT_COUNT // len(topics)]:
            built[f"mutant-{index}"] = {**solved(topics), topic: mutant_text(topic, name)}
            index += 1
    built["broken-syntax"] = {**solved(topics), first: solution_text(first) + "\ndef unfinished(:\n"}
    built["broken-missing"] = solved(topics, first)
    built["broken-misnamed"] = {**solved(topics, first), f"{first}_final": solution_text(first)}
    built["broken-import"] = {**solved(topics), first: solution_text(first) +
                              "\nraise RuntimeError('the module fails when it is imported')\n"}
    built["broken-empty"] = {}
    for name in ATTACKS:
        with open(os.path.join(REPO_ROOT, "autograder", "attacks", f"{name}.py"), encoding="utf-8") as f:
            built[f"hostile-{name.replace('_', '-')}"] = {**solved(topics), first: attack_text(f.read(), first)}
    built["bad-archive"] = None
    assert len(built) == SIZE, len(built)
    return built


def unfinished(topic: str, exercise: str) -> str:
    """The solution with one exercise (a function or class) as the stub has it: appended, so it wins."""
    return with_definition(solution_text(topic), stub_text(topic), exercise, "not finished")


def mutant_text(topic: str, name: str) -> str:
    """The module ``validate.build_mutant`` writes for the known-wrong variant ``topic/name``."""
    mutant = next((m for m in validate.mutants_of(topic) if m.name == name), None)
    if mutant is None:
        raise FileNotFoundError(f"no known-wrong variant {topic}/{name} in autograder/mutants/")
    with tempfile.TemporaryDirectory(prefix="class-mutant-") as folder:
        validate.build_mutant(mutant, folder)
        with open(os.path.join(folder, f"{topic}.py"), encoding="utf-8") as f:
            return f.read()


def make_class_config(folder: str, topics: tuple[str, ...] = TOPICS) -> str:
    """The class's grading.yml: ``topics`` only, and the modules the hostile students import let through
    the import rules (honest students import none of them), so the worker's own defences meet them."""
    return make_config(folder, topics, imports=ATTACK_IMPORTS)


def make_class(root: str, topics: tuple[str, ...] = TOPICS) -> dict[str, str]:
    """Write the class under ``root`` (folders and ``.zip`` files); returns each student id's kind.
    Ids are ``sNN-<kind>``, numbered so that the kinds alternate in sorted order."""
    os.makedirs(root, exist_ok=True)
    built = kinds(topics)
    names = _interleaved(list(built))
    students = {}
    for number, kind in enumerate(names):
        sid = f"s{number:02d}-{kind}"
        students[sid] = kind
        modules = built[kind]
        if modules is None:
            _zip(os.path.join(root, f"{sid}.zip"), {"../escaped.py": "x = 1\n", f"{topics[0]}.py": "x = 1\n"})
        elif kind in ARCHIVED:
            top = f"{sid}-homework/" if ARCHIVED[kind] == "nested" else ""
            _zip(os.path.join(root, f"{sid}.zip"), {top + f"{t}.py": text for t, text in modules.items()})
        else:
            os.makedirs(os.path.join(root, sid))
            for topic, text in modules.items():
                with open(os.path.join(root, sid, f"{topic}.py"), "w", encoding="utf-8") as f:
                    f.write(text)
    return students


def _interleaved(names: list[str]) -> list[str]:
    """Round robin over the kinds' families (correct, stub, partly, …) so each stretch of ids is mixed."""
    families: dict[str, list[str]] = {}
    for name in names:
        families.setdefault(name.split("-")[0], []).append(name)
    order = []
    while any(families.values()):
        for members in families.values():
            if members:
                order.append(members.pop(0))
    return order


def _zip(path: str, members: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            z.writestr(name, text)
