"""What running in Flink needs: the ``flink`` extra (PyFlink) and a Java runtime, each
refused with one line when missing, and a local environment set up for the jobs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import warnings

from marl_part.errors import InputError

INSTALL_HINT = ("needs Apache Flink: pip install 'marl-part[flink]' (its pins clash with the "
                "main venv's: make .venv-flink/.installed, then .venv-flink/bin/marl-part)")
MIN_JAVA = 11  # Flink 2's oldest; 17 is what the project's machines have
# Python operators hand records on in bundles; small ones keep a window's latency from
# waiting on a bundle to fill (Flink's defaults: 100,000 records or 1 s)
BUNDLE = {"python.fn-execution.bundle.size": "500", "python.fn-execution.bundle.time": "10"}


def require_flink() -> None:
    """Refuse, as bad input, a machine without PyFlink or without Java."""
    try:
        import pyflink  # noqa: F401
    except ImportError:
        raise InputError(INSTALL_HINT, "--engine flink") from None
    quiet_pyflink()
    java = java_executable()
    if java is None:
        raise InputError(f"needs Java {MIN_JAVA}+ (OpenJDK 17): no java in JAVA_HOME or on "
                         "PATH", "--engine flink")
    version = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    major = re.search(r'version "(\d+)', version)
    if major is None or int(major.group(1)) < MIN_JAVA:
        raise InputError(f"needs Java {MIN_JAVA}+, {java} is: {version.splitlines()[:1]}",
                         "--engine flink")


def versions() -> str:
    """Apache Flink's and Java's versions, as the page names them."""
    from pyflink.version import __version__

    java = subprocess.run([java_executable(), "-version"], capture_output=True, text=True,
                          check=False)
    return f"Apache Flink {__version__} (PyFlink), {java.stderr.splitlines()[0]}"


def java_executable() -> str | None:
    """The java PyFlink starts: JAVA_HOME's, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        path = os.path.join(home, "bin", "java")
        return path if os.access(path, os.X_OK) else None
    return shutil.which("java")


def local_environment(max_parallelism: int):
    """A streaming environment on a local mini cluster, its Python operators run by
    this interpreter, one subtask each unless set."""
    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment

    config = Configuration()
    for key, value in BUNDLE.items():
        config.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_python_executable(sys.executable)
    env.set_parallelism(1)
    env.set_max_parallelism(max_parallelism)
    return env


def quiet_pyflink() -> None:
    """PyFlink's own noise off: deprecation warnings that it and the libraries it
    imports raise about themselves, and the CANCELLED errors its loopback workers' gRPC
    reader threads end with when a job ends."""
    warnings.filterwarnings("ignore", category=DeprecationWarning,
                            module=r"(pyflink|apache_beam|httplib2)\.")
    if threading.excepthook is not _quiet_grpc_readers:
        _quiet_grpc_readers.default = threading.excepthook
        threading.excepthook = _quiet_grpc_readers


def _quiet_grpc_readers(args) -> None:
    if args.thread is None or args.thread.name != "read_grpc_client_inputs":
        _quiet_grpc_readers.default(args)
