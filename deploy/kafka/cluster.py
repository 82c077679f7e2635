"""A local replicated Kafka cluster: N KRaft nodes, each broker and controller, on one machine.

Standard library only. ``kafkactl.py cluster start|stop|status|bootstrap|leader [--nodes 3]
[--base-port 9192]``: node i (1..N) listens on base+2(i-1) (clients) and base+2(i-1)+1
(controller), and keeps its data, logs, pid file and config in ``var/cluster-<base>/node-<i>/``.
Every node votes in the quorum; topics get 3 replicas (fewer with fewer nodes), 2 of them in
sync for a write (``min.insync.replicas``). Start is idempotent: it starts the nodes that are not
running (a killed node's stale pid file is cleared) and waits until every node answers a Metadata
request listing all N brokers and the quorum has a leader. Environment: ADUAN_CLUSTER_NODES (3),
ADUAN_CLUSTER_PORT (9192), ADUAN_CLUSTER_HEAP (384m per node), ADUAN_KAFKA_START_TIMEOUT (90).
"""

from __future__ import annotations

import argparse
import os
import signal
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import kafkawire
import node
from node import Failure, alive, read_pid, runs_config, say

NOT_RUNNING = 3
DEFAULT_BASE_PORT = 9192
DEFAULT_HEAP = "384m"


@dataclass(frozen=True)
class Node(node.NodeLayout):
    """One member of the cluster: broker and controller in one JVM."""

    node_id: int
    host: str
    port: int
    controller_port: int
    root: Path

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def running_pid(self) -> int | None:
        """The pid of this node's broker JVM when it runs, else None."""
        pid = read_pid(self.pid_file)
        if pid is not None and alive(pid) and runs_config(pid, self.config):
            return pid
        return None


@dataclass(frozen=True)
class Cluster:
    host: str
    base_port: int
    size: int
    var: Path

    @property
    def root(self) -> Path:
        return self.var / f"cluster-{self.base_port}"

    @property
    def nodes(self) -> list[Node]:
        return [
            Node(
                i + 1,
                self.host,
                self.base_port + 2 * i,
                self.base_port + 2 * i + 1,
                self.root / f"node-{i + 1}",
            )
            for i in range(self.size)
        ]

    @property
    def bootstrap(self) -> str:
        """The full bootstrap list, as every client is given it."""
        return ",".join(n.bootstrap for n in self.nodes)

    @property
    def replicas(self) -> int:
        return min(3, self.size)

    @property
    def min_insync(self) -> int:
        return 2 if self.replicas >= 3 else 1

    def node(self, node_id: int) -> Node:
        return self.nodes[node_id - 1]


# ---------------------------------------------------------------- the quorum


def quorum_leader(cluster: Cluster, timeout: float = 2.0) -> int | None:
    """The node id of the active controller (the KRaft leader), asked of any running node."""
    for member in cluster.nodes:
        try:
            with kafkawire.Connection(member.host, member.port, None, timeout) as conn:
                leader, _epoch = conn.quorum_leader()
        except (OSError, struct.error, IndexError, kafkawire.KafkaError):
            continue
        if leader >= 0:
            return leader
    return None


def ready(cluster: Cluster) -> bool:
    """Every node lists all brokers in a Metadata answer, and the quorum has a leader."""
    if not all(node.answers_metadata(n.host, n.port, cluster.size) for n in cluster.nodes):
        return False
    return quorum_leader(cluster) is not None


# ---------------------------------------------------------------- start, stop, status


def render_config(cluster: Cluster, member: Node) -> None:
    voters = ",".join(f"{n.node_id}@{n.host}:{n.controller_port}" for n in cluster.nodes)
    text = node.render(
        {
            "NODE_ID": str(member.node_id),
            "VOTERS": voters,
            "HOST": member.host,
            "PORT": str(member.port),
            "CONTROLLER_PORT": str(member.controller_port),
            "DATA_DIR": str(member.data),
            "REPLICAS": str(cluster.replicas),
            "MIN_ISR": str(cluster.min_insync),
        }
    )
    member.config.write_text(text)


def check_size(cluster: Cluster) -> None:
    """A formatted quorum keeps its voters: the node count is fixed when it is first started."""
    size_file = cluster.root / "nodes"
    if size_file.exists():
        had = int(size_file.read_text().strip())
        if had != cluster.size:
            raise Failure(
                f"{node.show(cluster.root)} holds a {had}-node cluster, not {cluster.size}: "
                f"start it with --nodes {had}, or stop it and remove the folder"
            )
        return
    cluster.root.mkdir(parents=True, exist_ok=True)
    size_file.write_text(f"{cluster.size}\n")


def launch_node(cluster: Cluster, member: Node, cid: str, heap: str) -> tuple[int, bool]:
    """Start the node unless it runs; returns its pid and whether it was started now."""
    pid = read_pid(member.pid_file)
    if pid is not None:
        if member.running_pid() is not None:
            return pid, False
        # a crash (kill -9, power loss) leaves the pid file behind: no human needed
        member.pid_file.unlink(missing_ok=True)
        say(f"node {member.node_id}: cleared stale pid file ({node.why_stale(pid)}); starting")
    for port in (member.port, member.controller_port):
        if node.port_in_use(member.host, port):
            raise Failure(
                f"port {member.host}:{port} (node {member.node_id}) is already in use by "
                "another process: stop it or choose another --base-port"
            )
    for d in (member.data, member.logs):
        d.mkdir(parents=True, exist_ok=True)
    render_config(cluster, member)
    node.format_storage(member.config, member.data, member.logs, cid)
    proc = node.launch(member.config, member.logs, member.root, heap)
    member.pid_file.write_text(f"{proc.pid}\n")
    return proc.pid, True


def wait_ready(cluster: Cluster, pids: dict[int, int], deadline: float) -> None:
    """Until ready; a node whose JVM exits fails the start (its stdout.log says why)."""
    while not ready(cluster):
        gone = [i for i, pid in pids.items() if not alive(pid)]
        if gone:
            logs = cluster.node(gone[0]).logs
            tail = (logs / "stdout.log").read_text(errors="replace").strip().splitlines()[-5:]
            raise Failure(
                f"node(s) {', '.join(map(str, gone))} exited while starting; see "
                f"{node.show(logs)}/server.log and stdout.log" + "".join(f"\n  {t}" for t in tail)
            )
        if time.monotonic() > deadline:
            raise Failure(
                f"the cluster on {cluster.bootstrap} did not become ready in time (every node "
                "listing all brokers, a quorum leader); it is left running: see "
                f"{node.show(cluster.root)}/node-<id>/logs/server.log, then run cluster stop"
            )
        time.sleep(0.3)


def start(cluster: Cluster, timeout: float, heap: str) -> int:
    """Start every node that does not run (all at once: a quorum needs a majority to form)."""
    started = time.monotonic()
    with node.locked(cluster.root / ".lock"):
        check_size(cluster)
        node.fetch_jars()
        cid = node.cluster_id(cluster.root / "cluster.id")
        launched = {n.node_id: launch_node(cluster, n, cid, heap) for n in cluster.nodes}
        wait_ready(cluster, {i: pid for i, (pid, _) in launched.items()}, started + timeout)
        fresh = [str(i) for i, (_, now) in launched.items() if now]
        what = f"started node(s) {', '.join(fresh)}" if fresh else "already running"
        say(
            f"cluster ready on {cluster.bootstrap} ({what}; {cluster.size} KRaft voters, "
            f"controller leader node {quorum_leader(cluster)}; replication {cluster.replicas}, "
            f"min.insync.replicas {cluster.min_insync}) in {time.monotonic() - started:.1f}s; "
            f"data {node.show(cluster.root)}/"
        )
        return 0


def stop(cluster: Cluster, timeout: float) -> int:
    """SIGTERM every node at once (one by one, the last ones would wait for a lost quorum)."""
    if not cluster.root.exists():
        say(f"no cluster started from {node.show(cluster.root)}; nothing to stop")
        return 0
    with node.locked(cluster.root / ".lock"):
        running = {n.node_id: n.running_pid() for n in cluster.nodes}
        for member in cluster.nodes:
            if running[member.node_id] is None:
                member.pid_file.unlink(missing_ok=True)
        pids = {i: pid for i, pid in running.items() if pid is not None}
        if not pids:
            say(f"no node of {node.show(cluster.root)} runs; nothing to stop")
            return 0
        started = time.monotonic()
        for pid in pids.values():
            os.kill(pid, signal.SIGTERM)
        for i, pid in pids.items():
            left = max(1.0, timeout - (time.monotonic() - started))
            how = node.terminate(pid, left)
            cluster.node(i).pid_file.unlink(missing_ok=True)
            say(f"node {i}: {how} (pid {pid})")
        say(f"cluster on {cluster.bootstrap} stopped in {time.monotonic() - started:.1f}s")
        return 0


def status(cluster: Cluster) -> int:
    up = 0
    for member in cluster.nodes:
        pid = member.running_pid()
        if pid is None:
            say(f"node {member.node_id} on {member.bootstrap}: not running")
            continue
        up += 1
        answering = node.answers_metadata(member.host, member.port)
        say(
            f"node {member.node_id} on {member.bootstrap}: pid {pid}, "
            f"{'answers metadata requests' if answering else 'does not answer (starting?)'}"
        )
    leader = quorum_leader(cluster) if up else None
    say(f"quorum leader (active controller): {'none' if leader is None else f'node {leader}'}")
    if up == 0:
        return NOT_RUNNING
    return 0 if up == cluster.size and ready(cluster) else 1


def all_clusters(var: Path, host: str) -> list[Cluster]:
    found = []
    for d in sorted(var.glob("cluster-*")):
        base = d.name.removeprefix("cluster-")
        if base.isdigit() and (d / "nodes").exists():
            found.append(Cluster(host, int(base), int((d / "nodes").read_text()), var))
    return found


def main(argv: list[str]) -> int:
    """``kafkactl.py cluster ...``; Failure propagates to kafkactl's one-line report."""
    env = os.environ
    parser = argparse.ArgumentParser(prog="kafkactl.py cluster", description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "status", "bootstrap", "leader"])
    parser.add_argument("--nodes", type=int, default=int(env.get("ADUAN_CLUSTER_NODES", "3")))
    parser.add_argument(
        "--base-port", type=int, default=int(env.get("ADUAN_CLUSTER_PORT", DEFAULT_BASE_PORT))
    )
    parser.add_argument("--host", default=env.get("ADUAN_KAFKA_HOST", "127.0.0.1"))
    parser.add_argument("--var", default=env.get("ADUAN_KAFKA_VAR", str(node.REPO / "var")))
    parser.add_argument("--heap", default=env.get("ADUAN_CLUSTER_HEAP", DEFAULT_HEAP))
    parser.add_argument(
        "--timeout", type=float, default=float(env.get("ADUAN_KAFKA_START_TIMEOUT", "90"))
    )
    args = parser.parse_args(argv)
    if args.nodes < 1:
        raise Failure("--nodes must be at least 1")
    cluster = Cluster(args.host, args.base_port, args.nodes, Path(args.var).resolve())
    if args.action == "start":
        return start(cluster, args.timeout, args.heap)
    if args.action == "stop":
        return stop(cluster, 60.0)
    if args.action == "bootstrap":
        print(cluster.bootstrap)
        return 0
    if args.action == "leader":  # the active controller's node id, for scripts and tests
        leader = quorum_leader(cluster)
        if leader is None:
            return NOT_RUNNING
        print(leader)
        return 0
    return status(cluster)
