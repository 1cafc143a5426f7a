"""A throw-away single-node SLURM cluster for the tests, and nothing else on the machine touched.

munged, slurmctld and slurmd run from a private directory with their own munge key and socket,
their own slurm.conf (reached through SLURM_CONF, so /etc/slurm is left alone) and free ports,
and are stopped by the PIDs this harness started them with. No accounting database: jobs are
followed with `squeue` (MinJobAge keeps finished ones listed for 10 minutes). A fake GPU
(a schedulable `gpu:fake` gres backed by a dummy device file) lets a GPU request be scheduled.

    python3 tests/slurm_cluster.py install   # as root: apt-get install slurm-wlm munge if missing
    python3 tests/slurm_cluster.py check     # start a cluster, run one job through it, stop it
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("slurm-wlm", "munge")
PROGRAMS = ("munged", "munge", "unmunge", "slurmctld", "slurmd")
PROGRAMS += ("sbatch", "srun", "squeue", "scontrol", "scancel", "sinfo")
NODE = "localhost"
PARTITION = "debug"


def missing_programs() -> list[str]:
    return [name for name in PROGRAMS if shutil.which(name, path=_sbin_path()) is None]


def _sbin_path() -> str:
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def unavailable() -> str | None:
    """Why a cluster cannot be started here, or None when it can."""
    if not sys.platform.startswith("linux"):
        return f"a SLURM test cluster needs Linux, not {sys.platform}"
    if os.geteuid() != 0:
        return "a SLURM test cluster needs root (slurmd launches the jobs)"
    missing = missing_programs()
    if missing:
        return (
            f"SLURM is not installed (no {', '.join(missing)}); as root run "
            "`python3 tests/slurm_cluster.py install`"
        )
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "the munge package's user 'munge' does not exist"
    return None


def install() -> None:
    """apt-get install slurm-wlm and munge when their programs are missing (Debian/Ubuntu, root)."""
    if not missing_programs():
        print("slurm_cluster: slurm-wlm and munge are installed")
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise SystemExit("slurm_cluster: installing SLURM needs apt-get and root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
        check=True,
        env=env,
    )
    if missing_programs():
        raise SystemExit(f"slurm_cluster: still missing after install: {missing_programs()}")


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on (held open together, so they differ)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]


def wait_for(condition: Callable[[], bool], what: str, seconds: float, alive=()) -> None:
    """Poll `condition` until it holds; fail early if one of the `alive` processes died."""
    deadline = time.monotonic() + seconds
    while not condition():
        for daemon in alive:
            if daemon.process.poll() is not None:
                raise RuntimeError(
                    f"{daemon.name} exited while waiting for {what}: {daemon.tail()}"
                )
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.1)


@dataclass
class Daemon:
    name: str
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class SlurmCluster:
    """One node (`localhost`, every core), one partition (`debug`), `fake_gpus` fake GPUs."""

    def __init__(self, fake_gpus: int = 1):
        # Not under pytest's tmp_path: munged (user munge) must reach its socket from /.
        self.root = Path(tempfile.mkdtemp(prefix="utrflow-slurm-"))
        self.fake_gpus = fake_gpus
        self.cpus = os.cpu_count() or 1
        self.daemons: list[Daemon] = []
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self.env = self.client_env({**os.environ, "PATH": _sbin_path()})

    def client_env(self, base: dict[str, str]) -> dict[str, str]:
        """`base` plus what SLURM's commands need to reach this cluster, in jobs too.

        Inside a job, snakemake-executor-plugin-slurm-jobstep (0.6) drops every SLURM_* variable
        (SLURM_CONF included) before it calls `srun`, which would then look for the machine's
        /etc/slurm/slurm.conf: an `srun` first on PATH puts SLURM_CONF back.
        """
        wrappers = self.root / "bin"
        return {
            **base,
            "SLURM_CONF": str(self.conf),
            "PATH": os.pathsep.join([str(wrappers), base.get("PATH", "")]),
        }

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> SlurmCluster:
        try:
            self._start_munge()
            self._write_config()
            self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
            self._spawn("slurmd", ["slurmd", "-D", "-N", NODE, "-f", str(self.conf)])
            # sinfo can say idle before slurmd registered: wait for the node's own state.
            wait_for(lambda: self.node_state() == "IDLE", "the node to be IDLE", 60, self.daemons)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, argv: list[str], **options) -> Daemon:
        log = self.root / "log" / f"{name}.out"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as out:
            process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,  # a Ctrl-C to the tests reaches the finalizer, not these
                **options,
            )
        daemon = Daemon(name, process, log)
        self.daemons.append(daemon)
        return daemon

    def _start_munge(self) -> None:
        """munged as user munge, with a key and socket of its own (the system's are left alone)."""
        munge = pwd.getpwnam("munge")
        self.root.chmod(0o755)  # munged checks that every directory up to its socket is searchable
        run = self.root / "munge"
        keys = run / "key"
        keys.mkdir(parents=True)
        key = keys / "munge.key"
        key.write_bytes(os.urandom(1024))
        for path, mode in ((run, 0o755), (keys, 0o700), (key, 0o400)):
            os.chown(path, munge.pw_uid, munge.pw_gid)
            path.chmod(mode)
        self._spawn(
            "munged",
            [
                "munged",
                "--foreground",
                f"--key-file={key}",
                f"--socket={self.munge_socket}",
                f"--pid-file={run / 'munged.pid'}",
                f"--log-file={run / 'munged.log'}",
                f"--seed-file={keys / 'munged.seed'}",
            ],
            user=munge.pw_uid,
            group=munge.pw_gid,
            extra_groups=[],
        )
        wait_for(self._munge_answers, "munged to answer", 20, self.daemons)

    def _munge_answers(self) -> bool:
        sock = f"--socket={self.munge_socket}"
        encoded = subprocess.run(["munge", "-n", sock], capture_output=True, check=False)
        if encoded.returncode != 0:
            return False
        decoded = subprocess.run(
            ["unmunge", sock], input=encoded.stdout, capture_output=True, check=False
        )
        return decoded.returncode == 0

    def _write_config(self) -> None:
        for name in ("state", "spool", "log", "bin"):
            (self.root / name).mkdir(exist_ok=True)
        srun = self.root / "bin" / "srun"
        real_srun = shutil.which("srun", path=_sbin_path())
        srun.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {real_srun} "$@"\n')
        srun.chmod(0o755)
        with open("/proc/meminfo") as meminfo:
            available_kb = next(int(line.split()[1]) for line in meminfo if "MemAvailable" in line)
        # Half the free memory, but room for the rules' requests (8 GB for training) on a small
        # machine too: config_overrides trusts this figure, and nothing enforces it without cgroups.
        memory_mb = max(available_kb // 2048, 16384)
        gres_node = gres_types = ""
        if self.fake_gpus:
            devices = [self.root / f"fakegpu{i}" for i in range(self.fake_gpus)]
            for device in devices:
                try:  # a character device like /dev/null, so slurmd can stat it as a GPU
                    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
                except OSError:
                    device.touch()
            files = ",".join(map(str, devices))
            (self.root / "gres.conf").write_text(
                f"NodeName={NODE} Name=gpu Type=fake File={files}\n"
            )
            gres_node, gres_types = f"Gres=gpu:fake:{self.fake_gpus}", "GresTypes=gpu"
        r = self.root
        controller_port, node_port = free_ports(2)
        self.conf.write_text(
            f"""ClusterName=utrflowtest
SlurmctldHost={NODE}
SlurmctldPort={controller_port}
SlurmdPort={node_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/state/slurmctld.pid
SlurmdPidFile={r}/spool/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
ReturnToService=2
MinJobAge=600
{gres_types}
SlurmdParameters=config_overrides
NodeName={NODE} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={memory_mb} {gres_node}
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""
        )

    # -- query ---------------------------------------------------------------------------------
    def command(self, *argv: str, check: bool = True) -> str:
        done = subprocess.run(
            argv, capture_output=True, text=True, env=self.env, timeout=30, check=False
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
        return done.stdout

    def node_state(self) -> str:
        shown = self.command("scontrol", "show", "node", NODE, check=False)
        fields = dict(part.split("=", 1) for part in shown.split() if "=" in part)
        return fields.get("State", "")

    def jobs(self) -> list[dict[str, str]]:
        """Every job the controller remembers (finished ones for MinJobAge): id, name (the
        plugin's run ID), comment (the plugin's `rule_<name>[_wildcards_<values>]`) and state."""
        keys = ("id", "name", "comment", "state")
        listed = self.command("squeue", "--states=all", "--noheader", "--format=%i|%j|%k|%T")
        return [dict(zip(keys, line.split("|"), strict=True)) for line in listed.splitlines()]

    def job(self, job_id: str) -> dict[str, str]:
        """The controller's record of a job: JobState, TresPerJob (`gres:gpu:1` for --gpus=1),
        NumCPUs, MinMemoryNode, TimeLimit, ..."""
        shown = self.command("scontrol", "show", "job", "--oneliner", job_id)
        return dict(token.partition("=")[::2] for token in shown.split())

    # -- stop ----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancel what is still queued, then stop exactly the daemons started here, newest first."""
        if any(d.name == "slurmctld" and d.process.poll() is None for d in self.daemons):
            self.command("scancel", "--user", "root", check=False)
        for daemon in reversed(self.daemons):
            daemon.stop()

    def alive(self) -> list[str]:
        """The daemons started here that are still running."""
        return [daemon.name for daemon in self.daemons if daemon.process.poll() is None]


def _check() -> None:
    """Start a cluster, run one job through sbatch, print what squeue saw, stop it."""
    reason = unavailable()
    if reason:
        raise SystemExit(f"slurm_cluster: {reason}")
    cluster = SlurmCluster()
    try:
        cluster.start()
        print(cluster.command("sinfo"), end="")
        job = cluster.command(
            "sbatch",
            "--parsable",
            "--wait",
            f"--output={cluster.root}/check-%j.out",
            "--wrap",
            "id",
        ).strip()
        print(next(j for j in cluster.jobs() if j["id"] == job))
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


if __name__ == "__main__":
    actions = {"install": install, "check": _check}
    if len(sys.argv) != 2 or sys.argv[1] not in actions:
        raise SystemExit(f"usage: python {sys.argv[0]} {'|'.join(actions)}")
    actions[sys.argv[1]]()
