"""The job-array recipes (Slurm, Kubernetes Indexed Job, GitHub Actions matrix): thin wrappers over
``batch --shard I/N`` and ``merge``. The Slurm script and the Kubernetes command run here for real on a tiny
class (four students, two shards, the public pooling suite) with the array variables set as the scheduler
sets them; the GitHub matrix workflow's planning step runs, its grading and merging commands are checked."""
import csv
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
import yaml

from autograder.config import REPO_ROOT
from autograder.selftests.helpers import make_submission, solution_text

SLURM = os.path.join(REPO_ROOT, "recipes", "slurm")
K8S = os.path.join(REPO_ROOT, "recipes", "k8s")
BATCH_WORKFLOW = os.path.join(REPO_ROOT, ".github", "workflows", "batch.yml")
OPTIONS = "--suite public --topics pooling"


def read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def container(manifest_path: str) -> tuple[dict, dict, str, dict[str, str]]:
    """The Job, its spec, the container's shell script and its environment."""
    job = yaml.safe_load(read(manifest_path))
    box = job["spec"]["template"]["spec"]["containers"][0]
    assert box["command"] == ["bash", "-c"] and len(box["args"]) == 1
    return job, job["spec"], box["args"][0], {e["name"]: e["value"] for e in box.get("env", [])}


def shell(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A recipe's shell logic here: in the repository (the image's /course), with this venv's ``python`` first."""
    environment = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_CONFIG"}
    environment.update(env, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    return subprocess.Popen(argv, cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    return out


def gradebook(folder) -> dict[str, dict]:
    with open(os.path.join(folder, "gradebook.csv"), newline="", encoding="utf-8") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


# --------------------------------------------------------------------------- the recipes as written

def test_slurm_scripts_parse_and_shard_by_the_array_task():
    for name in ("grade_array.sbatch", "merge.sbatch"):
        check = subprocess.run(["bash", "-n", os.path.join(SLURM, name)], capture_output=True, text=True)
        assert check.returncode == 0, f"{name}: {check.stderr}"
    grade = read(os.path.join(SLURM, "grade_array.sbatch"))
    assert "$SLURM_ARRAY_TASK_ID" in grade and "$SLURM_ARRAY_TASK_COUNT" in grade and "#SBATCH --array=" in grade
    assert "-m autograder batch" in grade and '--shard "$shard/$shards"' in grade
    assert "-m autograder merge" in read(os.path.join(SLURM, "merge.sbatch"))


def test_k8s_grading_job_is_indexed_with_one_shard_per_completion():
    job, spec, script, env = container(os.path.join(K8S, "grade-job.yaml"))
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert spec["completionMode"] == "Indexed"
    assert isinstance(spec["completions"], int) and 1 <= spec["parallelism"] <= spec["completions"]
    assert int(env["SHARDS"]) == spec["completions"]  # N of --shard I/N
    assert "$JOB_COMPLETION_INDEX" in script and "-m autograder batch" in script and "--shard" in script
    merge, merge_spec, merge_script, _ = container(os.path.join(K8S, "merge-job.yaml"))
    assert merge["kind"] == "Job" and "completionMode" not in merge_spec and "-m autograder merge" in merge_script


def workflow() -> dict:
    return yaml.safe_load(read(BATCH_WORKFLOW))


def test_github_matrix_grades_one_shard_per_job_then_merges():
    jobs = workflow()["jobs"]
    assert jobs["grade"]["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    step = next(s for s in jobs["grade"]["steps"] if "autograder batch" in s.get("run", ""))
    assert step["env"]["SHARD"] == "${{ matrix.shard }}" and step["env"]["SHARDS"] == "${{ strategy.job-total }}"
    assert '--shard "$SHARD/$SHARDS"' in step["run"] and '--out "grades/shard-$SHARD"' in step["run"]
    assert jobs["merge"]["needs"] == "grade"
    merge = next(s for s in jobs["merge"]["steps"] if "autograder merge" in s.get("run", ""))
    assert "shards/shard-*" in merge["run"]
    uploads = [s["with"]["name"] for s in jobs["merge"]["steps"] if s.get("uses", "").startswith("actions/upload")]
    assert uploads == ["gradebook"]


@pytest.mark.parametrize("shards, expected", [("3", "list=[1,2,3]"), ("1", "list=[1]"), ("0", None), ("x", None)])
def test_github_matrix_plan_lists_the_shards(tmp_path, shards, expected):
    script = workflow()["jobs"]["plan"]["steps"][0]["run"]
    output = tmp_path / "output"
    done = subprocess.run(["bash", "-e", "-c", script], env={"SHARDS": shards, "GITHUB_OUTPUT": str(output),
                                                             "PATH": os.environ["PATH"]}, capture_output=True, text=True)
    if expected is None:
        assert done.returncode == 2 and "shards must be a whole number" in done.stdout
    else:
        assert done.returncode == 0, done.stderr
        assert output.read_text().strip() == expected


# --------------------------------------------------------------------------- a tiny class, for real

@pytest.fixture(scope="module")
def tiny_class(tmp_path_factory):
    """alice and carol (a zip) solved pooling, bob left the stub, dave uploaded nothing useful."""
    base = tmp_path_factory.mktemp("array")
    root = base / "submissions"
    make_submission(root / "alice", topic="pooling")
    make_submission(root / "bob", topic="pooling", text=read(os.path.join(REPO_ROOT, "exercises", "pooling.py")))
    with zipfile.ZipFile(root / "carol.zip", "w") as z:
        z.writestr("carol/pooling.py", solution_text("pooling"))
    (root / "dave").mkdir()
    (root / "dave" / "notes.txt").write_text("nothing here\n")
    return root, base / "grades"


def test_slurm_and_k8s_shards_then_merge_grade_the_whole_class(tiny_class):
    root, grades = tiny_class
    # shard 1 of 2 as Slurm's array task 1 of --array=1-2; shard 2 of 2 as the Indexed Job's pod of index 1
    slurm = shell(["bash", os.path.join(SLURM, "grade_array.sbatch")], {
        "SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "2",
        "SUBMISSIONS": str(root), "GRADES": str(grades), "BATCH_OPTIONS": OPTIONS, "PYTHON": sys.executable})
    _, _, script, env = container(os.path.join(K8S, "grade-job.yaml"))
    k8s = shell(["bash", "-c", script], {**env, "JOB_COMPLETION_INDEX": "1", "SHARDS": "2", "JOBS": "1",
                                         "SUBMISSIONS": str(root), "GRADES": str(grades), "BATCH_OPTIONS": OPTIONS})
    finish(slurm), finish(k8s)
    assert set(gradebook(grades / "shard-1")) == {"alice", "carol"}  # sorted ids, round robin
    assert set(gradebook(grades / "shard-2")) == {"bob", "dave"}

    finish(shell(["bash", os.path.join(SLURM, "merge.sbatch")], {"GRADES": str(grades), "PYTHON": sys.executable}))
    merged = gradebook(grades / "class")
    assert {sid: row["total"] for sid, row in merged.items()} == {"alice": "60", "bob": "0", "carol": "60",
                                                                  "dave": "0"}
    assert {row["status"] for row in merged.values()} == {"graded"}
    slurm_gradebook = (grades / "class" / "gradebook.csv").read_text()

    shutil.rmtree(grades / "class")
    _, _, merge_script, merge_env = container(os.path.join(K8S, "merge-job.yaml"))
    finish(shell(["bash", "-c", merge_script], {**merge_env, "GRADES": str(grades)}))
    assert (grades / "class" / "gradebook.csv").read_text() == slurm_gradebook


def test_slurm_shard_is_one_based_whatever_the_array_starts_at(tmp_path):
    """--array=0-1 (task ids 0 and 1): task 0 is shard 1, as with --array=1-2."""
    script = read(os.path.join(SLURM, "grade_array.sbatch")).replace('exec "$PYTHON"', 'echo "$PYTHON"')
    path = tmp_path / "grade_array.sbatch"
    path.write_text(script)
    done = subprocess.run(["bash", str(path)], capture_output=True, text=True, cwd=tmp_path, env={
        "PATH": os.environ["PATH"], "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0",
        "SLURM_ARRAY_TASK_COUNT": "2", "SUBMISSIONS": "subs"})
    assert done.returncode == 0, done.stderr
    assert "--out grades/shard-1 --shard 1/2" in done.stdout
