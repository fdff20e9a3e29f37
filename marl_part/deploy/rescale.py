"""What rescaling a running job costs in Flink, to hold against the simulator's
provisioning delay.

A local standalone session cluster (the package's own ``jobmanager.sh`` and
``taskmanager.sh``) runs the adaptive scheduler without its cooldowns; the probe job
(:mod:`marl_part.deploy.probe`, keyed state) is submitted at one parallelism and
rescaled through ``PUT /jobs/<id>/resource-requirements`` to another and back. A
``partition_custom`` job cannot be rescaled this way: the partition count of its
Python partitioner is fixed when the job is submitted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from marl_part.errors import InputError

POLL = 0.1  # s between looks at the job
TIMEOUT = 180.0  # s for the cluster, a submission or a rescale
SETTINGS = {
    "jobmanager.scheduler": "adaptive",
    # react to a request at once: the cooldowns are a policy, not the cost of a rescale
    "jobmanager.adaptive-scheduler.executing.cooldown-after-rescaling": "0 s",
    "jobmanager.adaptive-scheduler.executing.resource-stabilization-timeout": "0 s",
    "jobmanager.memory.process.size": "1024m",
    "taskmanager.memory.process.size": "2048m",
}


@dataclass
class Rescale:
    source: int
    target: int
    seconds: float  # from the request until every subtask runs at the new parallelism
    downtime: float  # of that, how long the keyed operator had no subtask running


def rescale_costs(first: int, second: int) -> list[Rescale]:
    """The probe job at ``first`` subtasks, rescaled to ``second`` and back."""
    with session_cluster(slots=max(first, second)) as rest:
        job = submit(rest, first)
        try:
            wait_for(rest, job, first, time.time())
            return [rescale(rest, job, first, second), rescale(rest, job, second, first)]
        finally:
            _call(rest, f"/jobs/{job}", method="PATCH")  # cancel


@contextmanager
def session_cluster(slots: int) -> Iterator[int]:
    """A job manager and a task manager with ``slots`` slots on this machine, in a
    scratch folder; yields the REST port; both are stopped on the way out."""
    import pyflink

    home = Path(pyflink.__file__).parent
    with tempfile.TemporaryDirectory(prefix="marl-part-flink-") as scratch:
        conf, logs = Path(scratch) / "conf", Path(scratch) / "log"
        shutil.copytree(home / "conf", conf)
        logs.mkdir()
        rest = _free_port()
        settings = yaml.safe_load((conf / "config.yaml").read_text())
        settings.update(SETTINGS, **{
            "rest.port": rest, "jobmanager.rpc.port": _free_port(),
            "taskmanager.numberOfTaskSlots": slots, "env.pid.dir": scratch,
            "python.executable": sys.executable})
        (conf / "config.yaml").write_text(yaml.safe_dump(settings))
        env = dict(os.environ, FLINK_CONF_DIR=str(conf), FLINK_LOG_DIR=str(logs))
        daemons = [str(home / "bin" / name) for name in ("jobmanager.sh", "taskmanager.sh")]
        try:
            for daemon in daemons:
                subprocess.run(["bash", daemon, "start"], env=env, check=True,
                               capture_output=True)
            _until(lambda: _call(rest, "/overview")["taskmanagers"] >= 1, "the cluster")
            yield rest
        finally:
            for daemon in reversed(daemons):
                subprocess.run(["bash", daemon, "stop"], env=env, capture_output=True, check=False)


def submit(rest: int, parallelism: int) -> str:
    """The probe job, submitted detached with ``flink run``; its job id."""
    import pyflink

    flink = Path(pyflink.__file__).parent / "bin" / "flink"
    out = subprocess.run(
        ["bash", str(flink), "run", "-m", f"localhost:{rest}", "-d", "-pyclientexec",
         sys.executable, "-pyexec", sys.executable, "-pym", "marl_part.deploy.probe",
         str(parallelism)], capture_output=True, text=True, timeout=TIMEOUT, check=False)
    found = re.search(r"JobID ([0-9a-f]{32})", out.stdout)
    if found is None:
        raise InputError(f"flink run did not submit the rescale probe: "
                         f"{(out.stderr or out.stdout).strip().splitlines()[-1:]}",
                         "--engine flink")
    return found.group(1)


def rescale(rest: int, job: str, source: int, target: int) -> Rescale:
    """Ask the adaptive scheduler for ``target`` subtasks of the keyed operator."""
    requirements = _call(rest, f"/jobs/{job}/resource-requirements")
    for vertex in requirements.values():
        if vertex["parallelism"]["upperBound"] == source:
            vertex["parallelism"]["upperBound"] = target
    start = time.time()
    _call(rest, f"/jobs/{job}/resource-requirements", requirements, "PUT")
    downtime = wait_for(rest, job, target, start)
    return Rescale(source, target, time.time() - start, downtime)


def wait_for(rest: int, job: str, parallelism: int, start: float) -> float:
    """Wait until the job's widest operator runs ``parallelism`` subtasks, all of them
    running; returns how long it had none running meanwhile."""
    down_since, downtime = None, 0.0
    while time.time() - start < TIMEOUT:
        vertices = _call(rest, f"/jobs/{job}")["vertices"]
        widest = max(vertices, key=lambda v: v["parallelism"])
        running = widest["tasks"]["RUNNING"]
        now = time.time()
        if running == 0 and down_since is None:
            down_since = now
        if running > 0 and down_since is not None:
            downtime, down_since = downtime + now - down_since, None
        if widest["parallelism"] == parallelism and all(
                v["tasks"]["RUNNING"] == v["parallelism"] for v in vertices):
            return downtime
        time.sleep(POLL)
    raise InputError(f"the rescale probe did not run at parallelism {parallelism} within "
                     f"{TIMEOUT:.0f} s", "--engine flink")


def _until(ready, what: str) -> None:
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise InputError(f"{what} did not start within {TIMEOUT:.0f} s", "--engine flink")


def _call(rest: int, path: str, body: dict | None = None, method: str = "GET"):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://localhost:{rest}{path}", data=data,
                                     method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if text else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]
