"""The local cluster's layout and rendered configs (deploy/kafka/cluster.py), the topics'
replication from the one topic list, and the DescribeQuorum encoding, without starting a JVM."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from consumers.settings import EngineSettings
from consumers.topics import TOPICS, min_insync_replicas, topic_specs

KAFKA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
sys.path.insert(0, str(KAFKA_DIR))
import cluster  # noqa: E402
import kafkawire  # noqa: E402
import node  # noqa: E402


def properties(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_each_node_has_its_own_ports_and_folder_and_all_vote(tmp_path: Path) -> None:
    three = cluster.Cluster("127.0.0.1", 19800, 3, tmp_path)
    ports = [(n.port, n.controller_port) for n in three.nodes]
    assert ports == [(19800, 19801), (19802, 19803), (19804, 19805)]
    assert three.bootstrap == "127.0.0.1:19800,127.0.0.1:19802,127.0.0.1:19804"
    assert len({n.root for n in three.nodes}) == 3
    for member in three.nodes:
        member.root.mkdir(parents=True)
        cluster.render_config(three, member)
        props = properties(member.config)
        assert props["node.id"] == str(member.node_id)
        assert props["controller.quorum.voters"] == (
            "1@127.0.0.1:19801,2@127.0.0.1:19803,3@127.0.0.1:19805"
        )
        assert props["listeners"] == (
            f"PLAINTEXT://127.0.0.1:{member.port},CONTROLLER://127.0.0.1:{member.controller_port}"
        )
        assert props["log.dirs"] == str(member.data)
        for key in ("default.replication.factor", "offsets.topic.replication.factor"):
            assert props[key] == "3"
        assert props["min.insync.replicas"] == "2"
        assert props["transaction.state.log.min.isr"] == "2"


def test_the_node_count_of_a_formatted_cluster_is_fixed(tmp_path: Path) -> None:
    cluster.check_size(cluster.Cluster("127.0.0.1", 19800, 3, tmp_path))
    with pytest.raises(node.Failure, match="3-node cluster, not 2"):
        cluster.check_size(cluster.Cluster("127.0.0.1", 19800, 2, tmp_path))


def test_the_single_broker_keeps_one_replica(tmp_path: Path) -> None:
    import kafkactl

    inst = kafkactl.Instance("127.0.0.1", 9092, 9093, tmp_path)
    inst.root.mkdir(parents=True)
    kafkactl.render_config(inst)
    props = properties(inst.config)
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["default.replication.factor"] == "1"
    assert props["min.insync.replicas"] == "1"


def test_topics_on_a_cluster_get_three_replicas_two_in_sync() -> None:
    single = topic_specs()
    assert {s.replication_factor for s in single} == {1}
    assert all("min.insync.replicas" not in s.configs for s in single)
    replicated = topic_specs(replication_factor=3)
    assert len(replicated) == len(TOPICS)
    assert {s.replication_factor for s in replicated} == {3}
    assert {s.configs["min.insync.replicas"] for s in replicated} == {"2"}
    assert [min_insync_replicas(n) for n in (1, 2, 3, 5)] == [1, 1, 2, 2]
    assert EngineSettings(topic_replication=3).topic_replication == 3
    assert EngineSettings().topic_replication == 1


def test_describe_quorum_request_and_answer_encoding() -> None:
    sent: list[bytes] = []

    class Wire(kafkawire.Connection):
        def __init__(self) -> None:
            self.correlation = 0

        def request(
            self, api_key: int, version: int, body: bytes, flexible: bool = False
        ) -> kafkawire.Reader:
            assert (api_key, version, flexible) == (kafkawire.DESCRIBE_QUORUM, 0, True)
            sent.append(body)
            name = b"__cluster_metadata"
            answer = struct.pack(">h", 0) + b"\x02" + bytes([len(name) + 1]) + name + b"\x02"
            answer += struct.pack(">ihii", 0, 0, 2, 7)  # partition, error, leader, epoch
            return kafkawire.Reader(answer)

    assert Wire().quorum_leader() == (2, 7)
    name = b"__cluster_metadata"
    partition = struct.pack(">i", 0) + b"\x00"
    assert sent == [b"\x02" + bytes([len(name) + 1]) + name + b"\x02" + partition + b"\x00\x00"]
    assert kafkawire._uvarint(300) == b"\xac\x02"
    assert kafkawire.Reader(b"\xac\x02").uvarint() == 300
