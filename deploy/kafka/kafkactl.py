#!/usr/bin/env python3
"""Start, stop and inspect a local Apache Kafka broker (KRaft combined mode, one node).

Standard library only, so it runs before the project's virtualenv exists.

    python3 deploy/kafka/kafkactl.py [--host H] [--port P] [--controller-port C] COMMAND

Commands: fetch (Kafka jars from Maven Central into deploy/kafka/lib/), start, stop, status,
stop --all (every instance and cluster under the var folder), env --principal NAME (a secured
instance's client settings as environment lines), and ``cluster start|stop|status|bootstrap
[--nodes 3] [--base-port 9192]``: a local replicated KRaft cluster (see cluster.py).

``start --secure`` starts a secured instance (SASL_SSL, SCRAM-SHA-512, a local CA, ACLs per
principal from acls.json; see secure.py); ``--topic-prefix``/``--app-id`` (ADUAN_TOPIC_PREFIX,
ADUAN_APP_ID) name the topics its ACLs cover. An instance keeps the mode it was created in.

Each instance lives in ``var/kafka-<port>/`` (data, logs, pid file, rendered config), so the test
broker (19092) never touches a developer's broker (9092). Environment: ADUAN_KAFKA_HOST
(127.0.0.1), ADUAN_KAFKA_PORT (9092), ADUAN_KAFKA_CONTROLLER_PORT (port + 1), ADUAN_KAFKA_VAR
(<repo>/var), ADUAN_KAFKA_START_TIMEOUT (seconds, 90), ADUAN_KAFKA_HEAP (512m), JAVA_HOME,
ADUAN_KAFKA_LIB (the jar cache, deploy/kafka/lib).

Exit codes: 0 success; 1 a failure, explained on one line; status returns 3 when nothing runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import cluster
import kafkawire
import node
import secure
from node import (
    REPO,
    Failure,
    alive,
    answers_metadata,
    fetch_jars,
    locked,
    port_in_use,
    read_pid,
    runs_config,
    say,
    terminate,
    why_stale,
)
from secure import SecureFailure, SecureFiles

NOT_RUNNING = 3
PLAINTEXT, SECURE = "plaintext", "secure"


@dataclass(frozen=True)
class SecureOptions:
    """What a secured start needs beyond the instance: the names its ACLs cover."""

    topic_prefix: str = ""
    app_id: str = "aduan"


@dataclass(frozen=True)
class Instance(node.NodeLayout):
    host: str
    port: int
    controller_port: int
    var: Path

    @property
    def root(self) -> Path:
        return self.var / f"kafka-{self.port}"

    @property
    def mode_file(self) -> Path:
        return self.root / "mode"

    @property
    def secure_files(self) -> SecureFiles:
        return SecureFiles(self.root)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def show(self, path: Path) -> str:
        return node.show(path)


def instance_mode(inst: Instance) -> str | None:
    """plaintext or secure, as the instance was created; None when it was never formatted."""
    with contextlib.suppress(FileNotFoundError):
        return inst.mode_file.read_text().strip()
    if (inst.data / "meta.properties").exists():
        return PLAINTEXT  # created before modes existed
    return None


def answers(inst: Instance) -> bool:
    """Ready: a metadata answer (in secured mode after TLS and a SCRAM login)."""
    if instance_mode(inst) == SECURE:
        return secure.answers_securely(inst.secure_files, inst.host, inst.port)
    return answers_metadata(inst.host, inst.port)


def is_our_broker(pid: int, inst: Instance) -> bool:
    """True when pid is a kafka.Kafka JVM that runs this instance's config file."""
    return runs_config(pid, inst.config)


# ---------------------------------------------------------------- commands


def render_config(inst: Instance, overrides: dict[str, str] | None = None) -> None:
    text = node.render(
        {
            "NODE_ID": "1",
            "VOTERS": f"1@{inst.host}:{inst.controller_port}",
            "HOST": inst.host,
            "PORT": str(inst.port),
            "CONTROLLER_PORT": str(inst.controller_port),
            "DATA_DIR": str(inst.data),
            "REPLICAS": "1",
            "MIN_ISR": "1",
        }
    )
    if overrides is None:
        inst.config.write_text(text)
        return
    # the secured config holds the keystore's and the super user's passwords
    secure.write_private(inst.config, secure.override_properties(text, overrides))


def wait_ready(inst: Instance, pid: int, deadline: float, proc: Popen[bytes] | None) -> None:
    while True:
        if proc is not None and proc.poll() is not None:
            inst.pid_file.unlink(missing_ok=True)
            raise Failure(
                f"the broker exited with code {proc.returncode} while starting; "
                f"see {inst.show(inst.logs / 'server.log')} and stdout.log beside it"
            )
        if proc is None and not alive(pid):
            raise Failure(
                f"the broker (pid {pid}) exited while starting; see {inst.show(inst.logs)}/"
            )
        if answers(inst):
            return
        if time.monotonic() > deadline:
            raise Failure(
                f"the broker (pid {pid}) did not answer a metadata request on {inst.bootstrap} "
                f"in time; it is left running: see {inst.show(inst.logs / 'server.log')}, "
                "then run stop"
            )
        time.sleep(0.2)


def start(inst: Instance, timeout: float, options: SecureOptions | None = None) -> int:
    """Start the broker unless it runs; options given: in secured mode (ACLs reconciled)."""
    started = time.monotonic()
    deadline = started + timeout
    mode = PLAINTEXT if options is None else SECURE
    with locked(inst.root / ".lock"):
        existing = instance_mode(inst)
        if existing not in (None, mode):
            raise Failure(
                f"{inst.show(inst.root)} holds a {existing} broker, not a {mode} one: start it "
                f"{'with' if existing == SECURE else 'without'} --secure, or use other ports"
            )
        pid = read_pid(inst.pid_file)
        if pid is not None:
            if alive(pid) and is_our_broker(pid, inst):
                wait_ready(inst, pid, deadline, None)
                say(f"already running on {inst.bootstrap} (pid {pid}); nothing to do")
                if options is not None:
                    apply_acls(inst, options)
                return 0
            # a crash (kill -9, power loss) leaves the pid file behind: no human needed
            inst.pid_file.unlink(missing_ok=True)
            say(f"cleared stale pid file {inst.show(inst.pid_file)} ({why_stale(pid)}); starting")
        for port in (inst.port, inst.controller_port):
            if port_in_use(inst.host, port):
                raise Failure(
                    f"port {inst.host}:{port} is already in use by another process (not a broker "
                    f"started from {inst.show(inst.root)}): stop it or choose other ports "
                    "(ADUAN_KAFKA_PORT / ADUAN_KAFKA_CONTROLLER_PORT)"
                )
        fetch_jars()
        for d in (inst.data, inst.logs):
            d.mkdir(parents=True, exist_ok=True)
        format_extra = prepare_security(inst) if options is not None else None
        render_config(inst, None if format_extra is None else format_extra[0])
        cid = node.cluster_id(inst.root / "cluster.id")
        extra = [] if format_extra is None else format_extra[1]
        node.format_storage(inst.config, inst.data, inst.logs, cid, extra)
        inst.mode_file.write_text(mode + "\n")
        heap = os.environ.get("ADUAN_KAFKA_HEAP", "512m")
        proc = node.launch(inst.config, inst.logs, inst.root, heap)
        inst.pid_file.write_text(f"{proc.pid}\n")
        wait_ready(inst, proc.pid, deadline, proc)
        secured = "" if options is None else " (SASL_SSL, SCRAM-SHA-512)"
        say(
            f"broker ready on {inst.bootstrap}{secured} (controller {inst.host}:"
            f"{inst.controller_port}), pid {proc.pid}, in {time.monotonic() - started:.1f}s; "
            f"data {inst.show(inst.data)}, log {inst.show(inst.logs / 'server.log')}"
        )
        if options is not None:
            apply_acls(inst, options)
        return 0


def prepare_security(inst: Instance) -> tuple[dict[str, str], list[str]]:
    formatted = (inst.data / "meta.properties").exists()
    return secure.prepare(inst.secure_files, inst.host, inst.port, inst.controller_port, formatted)


def apply_acls(inst: Instance, options: SecureOptions) -> None:
    try:
        change = secure.apply_acls(
            inst.secure_files, inst.host, inst.port, options.topic_prefix, options.app_id
        )
    except (OSError, kafkawire.KafkaError) as exc:
        raise Failure(f"could not set the ACLs on {inst.bootstrap}: {exc}") from exc
    files = inst.secure_files
    say(
        f"ACLs: {change.total} for {', '.join(secure.principals()[1:])} (+{change.created} "
        f"created, -{change.removed} removed); super user {secure.ADMIN}; CA "
        f"{inst.show(files.ca_pem)}, passwords {inst.show(files.credentials)} "
        "(client settings: kafkactl.py env --principal NAME)"
    )


def stop(inst: Instance, timeout: float) -> int:
    if not inst.root.exists():
        say(f"no broker started from {inst.show(inst.root)}; nothing to stop")
        return 0
    with locked(inst.root / ".lock"):
        pid = read_pid(inst.pid_file)
        if pid is None:
            extra = ""
            if answers_metadata(inst.host, inst.port):
                extra = f" (something else answers on {inst.bootstrap}; left alone)"
            say(f"no broker started from {inst.show(inst.root)}; nothing to stop{extra}")
            return 0
        if not alive(pid) or not is_our_broker(pid, inst):
            inst.pid_file.unlink(missing_ok=True)
            say(f"removed stale pid file (pid {pid} was not a running broker of this instance)")
            return 0
        started = time.monotonic()
        how = terminate(pid, timeout)
        inst.pid_file.unlink(missing_ok=True)
        say(f"{how} broker pid {pid} on {inst.bootstrap} in {time.monotonic() - started:.1f}s")
        return 0


def status(inst: Instance) -> int:
    pid = read_pid(inst.pid_file)
    if pid is None:
        say(f"not running on {inst.bootstrap} (no pid file in {inst.show(inst.root)})")
        return NOT_RUNNING
    if not alive(pid) or not is_our_broker(pid, inst):
        say(f"stale pid file {inst.show(inst.pid_file)}: pid {pid} is not running this broker")
        return 1
    if answers(inst):
        say(f"running on {inst.bootstrap} (pid {pid}), answers metadata requests")
        return 0
    say(f"pid {pid} is running but does not answer on {inst.bootstrap} (starting or stuck?)")
    return 1


def all_instances(base: Instance) -> list[Instance]:
    found = []
    for d in sorted(base.var.glob("kafka-*")):
        config = d / "server.properties"
        port = d.name.removeprefix("kafka-")
        if not port.isdigit() or not config.exists():
            continue
        host, controller = base.host, int(port) + 1
        for line in config.read_text().splitlines():
            if line.startswith("listeners="):
                for listener in line.split("=", 1)[1].split(","):
                    name, _, addr = listener.partition("://")
                    h, _, p = addr.rpartition(":")
                    if name == "CONTROLLER":
                        controller = int(p)
                    else:
                        host = h
        found.append(Instance(host, int(port), controller, base.var))
    return found


def main(argv: list[str] | None = None) -> int:
    env = os.environ
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["cluster"]:
        return run_cluster(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = ["fetch", "start", "stop", "status", "bootstrap", "env"]
    parser.add_argument("command", choices=commands)
    parser.add_argument("--host", default=env.get("ADUAN_KAFKA_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env.get("ADUAN_KAFKA_PORT", "9092")))
    parser.add_argument("--controller-port", type=int, default=None)
    parser.add_argument("--var", default=env.get("ADUAN_KAFKA_VAR", str(REPO / "var")))
    parser.add_argument(
        "--timeout", type=float, default=float(env.get("ADUAN_KAFKA_START_TIMEOUT", "90"))
    )
    parser.add_argument("--all", action="store_true", help="stop: every instance under --var")
    parser.add_argument("--secure", action="store_true", help="start: SASL_SSL, SCRAM, ACLs")
    parser.add_argument("--topic-prefix", default=env.get("ADUAN_TOPIC_PREFIX", ""))
    parser.add_argument("--app-id", default=env.get("ADUAN_APP_ID", "aduan"))
    parser.add_argument("--principal", help="env: whose client settings to print")
    args = parser.parse_args(argv)
    controller = args.controller_port
    if controller is None:
        controller = int(env.get("ADUAN_KAFKA_CONTROLLER_PORT", args.port + 1))
    inst = Instance(args.host, args.port, controller, Path(args.var).resolve())
    try:
        if args.command == "fetch":
            fetch_jars()
            return 0
        if args.command == "bootstrap":
            print(inst.bootstrap)
            return 0
        if args.command == "start":
            options = SecureOptions(args.topic_prefix, args.app_id) if args.secure else None
            return start(inst, args.timeout, options)
        if args.command == "env":
            if instance_mode(inst) != SECURE or not args.principal:
                raise Failure("env needs a secured instance (start --secure) and --principal")
            print("\n".join(secure.client_env(inst.secure_files, inst.bootstrap, args.principal)))
            return 0
        if args.command == "stop":
            targets = all_instances(inst) if args.all else [inst]
            clusters = cluster.all_clusters(inst.var, inst.host) if args.all else []
            if args.all and not targets and not clusters:
                say(f"no instances under {inst.show(inst.var)}")
            for target in targets:
                stop(target, 60.0)
            for each in clusters:
                cluster.stop(each, 60.0)
            return 0
        return status(inst)
    except (Failure, SecureFailure) as exc:
        print(f"kafka: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("kafka: interrupted", file=sys.stderr)
        return 130


def run_cluster(argv: list[str]) -> int:
    try:
        return cluster.main(argv)
    except Failure as exc:
        print(f"kafka: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("kafka: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
