"""Proof on a real SLURM: the demo study through profiles/slurm gives the local run's results.

A one-node cluster on this machine (tests/slurm/cluster.sh: Debian's slurm-wlm and munge, slurmdbd
for `sacct`) runs the workflow with snakemake-executor-plugin-slurm; every file under results/
must be byte for byte (and mode for mode) the file of a local run on the same data. Run it with
`make test-slurm`. Outside CI it is skipped, with the reason, when the cluster cannot be started
(not root, no apt-get); with CI set it never skips.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
PARTITION = "main"  # cluster.sh's partition
ACCOUNT = "qualflow"  # cluster.sh's account
# The per-transcript stages' rules of a part of the corpus ({stage}_{part}) form the group
# part_{part}: one SLURM job per part (the 13 demo transcripts fall into 8 parts).
PART_RULE = re.compile(
    r"^(?P<stage>ingest|parse|deidentify|segment|candidate_codes|coding_sheets)_(?P<part>\d\d)$"
)
# Files under results/ that may differ between the two runs, and why. None: the logs hold counts
# and warnings only, and provenance.json no timestamps.
MAY_DIFFER: dict[str, str] = {}


def _profile_groups(code: Path) -> tuple[dict[str, str], dict[str, int]]:
    """The SLURM profile's groups (rule -> group) and group components (group -> chains per
    submission)."""
    profile = yaml.safe_load((code / "profiles" / "slurm" / "config.yaml").read_text())
    return profile["groups"], profile["group-components"]


def _part(transcript: str) -> str:
    from scripts.parts import part_of

    return part_of(transcript)


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


def _cannot_run(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"CI is set, so the SLURM test must run, but: {reason}")
    pytest.skip(reason)


def _cluster(command: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(CLUSTER), command], capture_output=True, text=True, timeout=timeout
    )


def _scontrol_config(environment: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(
        ["scontrol", "show", "config"], capture_output=True, text=True, env=environment, timeout=60
    )
    settings = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition("=")
        settings[name.strip()] = value.strip()
    return settings


@pytest.fixture(scope="module")
def slurm() -> dict[str, str]:
    """A running cluster (started here, and stopped after, unless it was already running):
    the environment SLURM commands need."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        _cannot_run("snakemake-executor-plugin-slurm is not installed (make install)")
    already_running = shutil.which("sinfo") is not None and _cluster("status", 60).returncode == 0
    if not already_running:
        if os.geteuid() != 0:
            _cannot_run("starting a SLURM cluster needs root (tests/slurm/cluster.sh start)")
        if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
            _cannot_run("SLURM is not installed and there is no apt-get to install it")
        started = time.monotonic()
        done = _cluster("start")
        if done.returncode != 0:
            _cannot_run(f"tests/slurm/cluster.sh start failed:\n{done.stderr[-3000:]}")
        print(f"cluster start: {time.monotonic() - started:.1f} s")
    environment = dict(os.environ)
    exported = _cluster("env", 60).stdout.strip()
    name, _, value = exported.removeprefix("export ").partition("=")
    environment[name] = value
    for variable in [name for name in environment if name.startswith(("SLURM_JOB", "SBATCH_"))]:
        del environment[variable]  # not a job of an outer allocation, no user defaults
    yield environment
    if not already_running:
        _cluster("stop", 120)


# What the two runs need of the repository: copied once, so that both run the same code even if
# the working tree changes meanwhile (provenance.json records a digest of the code).
CODE = ("Snakefile", "config.yaml", "data", "scripts", "workflow", "profiles")


@pytest.fixture(scope="module")
def code(tmp_path_factory) -> Path:
    snapshot = tmp_path_factory.mktemp("code")
    for entry in CODE:
        source = REPO / entry
        if source.is_dir():
            shutil.copytree(source, snapshot / entry, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, snapshot / entry)
    return snapshot


def _copy_study(code: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copytree(code / "data", folder / "data")
    shutil.copy(code / "config.yaml", folder / "config.yaml")
    return folder


def _snakemake(code: Path, folder: Path, profile: str, *arguments: str, environment=None):
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(code / "Snakefile"),
        "--directory",
        str(folder),
        "--workflow-profile",
        str(code / "profiles" / profile),
        *arguments,
    ]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=3600)
    return done, time.monotonic() - started


def _files(results: Path) -> dict[str, Path]:
    return {
        path.relative_to(results).as_posix(): path
        for path in sorted(results.rglob("*"))
        if path.is_file()
    }


def _job_stats(output: str) -> dict[str, int]:
    """Rule → number of jobs, from the 'Job stats' table Snakemake prints before running."""
    lines = output.splitlines()
    counts: dict[str, int] = {}
    for line in lines[lines.index("Job stats:") + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def _slurm_jobs(run_id: str, accounting: bool, environment: dict[str, str]) -> list[dict]:
    """The SLURM jobs of one Snakemake run (their job name is the run's ID), from the accounting
    database (sacct) or, without one, from slurmctld's memory of finished jobs (squeue)."""
    if accounting:
        command = [
            "sacct",
            "-X",
            "-n",
            "-P",
            "--name",
            run_id,
            "--format=JobIDRaw,State,Partition,Account,AllocCPUS,ReqMem,Timelimit,Elapsed,Comment",
        ]
    else:
        command = [
            "squeue",
            "-h",
            "--states=all",
            "--name",
            run_id,
            "--format=%i|%T|%P|%a|%C|%m|%l|%M|%k",
        ]
    fields = ["id", "state", "partition", "account", "cpus", "memory", "limit", "elapsed", "rule"]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60)
    assert done.returncode == 0, done.stderr
    return [dict(zip(fields, line.split("|"))) for line in done.stdout.splitlines() if line]


def _job_steps(run_id: str, environment: dict[str, str]) -> list[str]:
    """The job steps (srun inside the allocations) of one run."""
    # --name selects jobs, not their steps (named after the command: batch, python).
    done = subprocess.run(
        ["sacct", "-n", "-P", "-X", "--name", run_id, "--format=JobID"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    jobs = {line.split("|")[0] for line in done.stdout.splitlines()}
    done = subprocess.run(
        ["sacct", "-n", "-P", "-j", ",".join(sorted(jobs)), "--format=JobID,State"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if re.match(r"^\d+\.\d+\|", line)]


def test_slurm_run_matches_local_run(slurm: dict[str, str], code: Path, tmp_path: Path) -> None:
    local = _copy_study(code, tmp_path / "local")
    done, local_seconds = _snakemake(code, local, "default", "--cores", "2")
    assert done.returncode == 0, done.stderr[-5000:]

    settings = _scontrol_config(slurm)
    accounting = settings.get("AccountingStorageType") != "accounting_storage/none"
    environment = {**slurm, "SBATCH_PARTITION": PARTITION}  # read by the profile
    groups, components = _profile_groups(code)
    arguments = [
        "--group-components",
        *(f"{group}={size}" for group, size in components.items()),
        # Keep the plugin's log of every SLURM job (it deletes those of successful jobs).
        "--slurm-keep-successful-logs",
        # The plugin waits 40 s before it first asks about a job: right for a busy cluster,
        # slow for a test.
        "--slurm-init-seconds-before-status-checks=2",
    ]
    if accounting:
        environment["SBATCH_ACCOUNT"] = ACCOUNT  # checked by the plugin with sacctmgr
    else:
        # Without slurmdbd `sacct` fails ("Slurm accounting storage is disabled") and the plugin
        # would wait for ever: ask squeue, which remembers finished jobs for MinJobAge.
        arguments.append("--slurm-status-command=squeue")
    on_slurm = _copy_study(code, tmp_path / "slurm")
    done, slurm_seconds = _snakemake(code, on_slurm, "slurm", *arguments, environment=environment)
    print(f"\nlocal run: {local_seconds:.1f} s\nSLURM run: {slurm_seconds:.1f} s")
    assert done.returncode == 0, done.stderr[-8000:]
    output = done.stderr

    # The same files, byte for byte, with the same permissions (results/private/ is owner-only).
    local_files = _files(local / "results")
    slurm_files = _files(on_slurm / "results")
    assert sorted(slurm_files) == sorted(local_files)
    assert stat.S_IMODE((on_slurm / "results" / "private").stat().st_mode) == stat.S_IMODE(
        (local / "results" / "private").stat().st_mode
    )
    different = [
        name
        for name, path in local_files.items()
        if name not in MAY_DIFFER
        and (
            path.read_bytes() != slurm_files[name].read_bytes()
            or stat.S_IMODE(path.stat().st_mode) != stat.S_IMODE(slurm_files[name].stat().st_mode)
        )
    ]
    assert not different, f"differ between the local and the SLURM run: {different}"

    # The jobs went through SLURM: one submission per part of the corpus (its per-transcript
    # stages, the group part_{part}), one per 16 parts' corpus tables and leak checks (parts),
    # plus one per other corpus-level job, every one completed, on the partition and account the
    # profile read.
    run_id = re.search(r"SLURM run ID: (\S+)", output).group(1)
    stats = _job_stats(output)
    part_jobs: dict[str, int] = {}
    for rule, count in stats.items():
        found = PART_RULE.match(rule)
        if found:
            part_jobs[found["part"]] = part_jobs.get(found["part"], 0) + count
    transcripts = len(list((on_slurm / "data" / "raw").iterdir()))
    assert len(part_jobs) == len(
        {_part(path.stem) for path in (on_slurm / "data" / "raw").iterdir()}
    )
    in_group = {
        group: sum(count for rule, count in stats.items() if groups.get(rule) == group)
        for group in components
    }
    # group-components counts chains of connected jobs: a part's tables, then its leak check
    chains = {
        group: max((count for rule, count in stats.items() if groups.get(rule) == group), default=0)
        for group in components
    }
    submissions = {group: math.ceil(chains[group] / components[group]) for group in components}
    in_group_jobs = sum(in_group.values())
    grouped_jobs = in_group_jobs + sum(part_jobs.values())
    corpus_jobs = sum(
        count
        for rule, count in stats.items()
        if rule not in groups and not PART_RULE.match(rule) and rule != "all"
    )
    workflow_jobs = grouped_jobs + corpus_jobs
    expected = len(part_jobs) + sum(submissions.values()) + corpus_jobs
    jobs = _slurm_jobs(run_id, accounting, slurm)
    assert len(jobs) == expected, jobs
    assert {job["state"] for job in jobs} == {"COMPLETED"}, jobs
    assert {job["partition"] for job in jobs} == {PARTITION}, jobs
    if accounting:
        assert {job["account"] for job in jobs} == {ACCOUNT}, jobs
        # Every job ran in a job step (srun) inside one of those allocations: a part's group job
        # (one chain of jobs) in one step, whose Snakemake runs the part's jobs one after another;
        # each job of the parts' group (several chains) and every corpus-level job in a step of
        # its own.
        steps = _job_steps(run_id, slurm)
        assert {line.split("|")[1] for line in steps} == {"COMPLETED"}, steps
        assert len(steps) == len(part_jobs) + in_group_jobs + corpus_jobs, steps
    logs = on_slurm / ".snakemake" / "slurm_logs"
    assert len(sorted(logs.rglob("*.log"))) == expected
    for part, count in part_jobs.items():
        group_logs = sorted(logs.glob(f"group_part_{part}*/**/*.log"))
        assert len(group_logs) == 1, part
        # The part's group job ran every job of the part (each as a 'localrule' of its job step).
        ran = len(re.findall(rf"^localrule \w+_{part}:$", group_logs[0].read_text(), re.M))
        assert ran == count, part
    for group, count in submissions.items():
        group_logs = sorted(logs.glob(f"group_{group}*/**/*.log"))
        assert len(group_logs) == count, group
        rules = "|".join(rule for rule, name in groups.items() if name == group)
        ran = sum(
            len(re.findall(rf"^localrule ({rules}):$", path.read_text(), re.M))
            for path in group_logs
        )
        assert ran == in_group[group], group

    print(
        f"{transcripts} transcripts, {workflow_jobs} workflow jobs, {len(local_files)} files "
        f"identical; {len(jobs)} SLURM jobs ({len(part_jobs)} parts of the corpus; {workflow_jobs} "
        f"without grouping), run ID {run_id}"
    )
    for job in jobs:
        print("  " + " ".join(f"{key}={value}" for key, value in job.items()))
