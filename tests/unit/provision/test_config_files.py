"""Pure text the stack writes: descriptors, jvm.options, server configs, POMs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from provision import kafka, maven, modules, opensearch, versions

JVM_OPTIONS = """## JVM configuration
-Xms1g
-Xmx1g
11-:-XX:+UseG1GC
20-:--add-modules=jdk.incubator.vector
21-:-javaagent:agent/opensearch-agent.jar
"""


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_descriptor_has_every_key_opensearch_reads():
    text = modules.descriptor(
        "lang-mustache", "org.opensearch.script.mustache.MustacheModulePlugin", "3.8.0"
    )
    props = _props(text)
    assert props["name"] == "lang-mustache"
    assert props["classname"] == "org.opensearch.script.mustache.MustacheModulePlugin"
    assert props["version"] == props["opensearch.version"] == "3.8.0"
    assert props["java.version"] == "21"
    assert set(props) >= {"description", "extended.plugins", "has.native.controller"}


def test_module_classnames_are_the_3x_ones():
    classes = {name: cls for name, (_, cls) in versions.OPENSEARCH_MODULES.items()}
    assert classes == {
        "lang-painless": "org.opensearch.painless.PainlessModulePlugin",
        "lang-mustache": "org.opensearch.script.mustache.MustacheModulePlugin",
    }


def test_jvm_options_drop_vector_module_and_set_heap():
    patched = opensearch.patch_jvm_options(JVM_OPTIONS, "512m", "1g")
    assert "jdk.incubator.vector" not in patched
    lines = patched.splitlines()
    assert "-Xms512m" in lines and "-Xmx1g" in lines
    assert "-Xms1g" not in lines
    assert "21-:-javaagent:agent/opensearch-agent.jar" in lines
    assert "## JVM configuration" in lines


def test_jvm_options_patch_is_idempotent():
    once = opensearch.patch_jvm_options(JVM_OPTIONS)
    assert opensearch.patch_jvm_options(once) == once


def test_opensearch_yml_binds_loopback_single_node():
    yml = opensearch.opensearch_yml(Path("/data"), Path("/logs"))
    settings = dict(line.split(": ", 1) for line in yml.splitlines())
    assert settings["network.host"] == "127.0.0.1"
    assert settings["http.port"] == "9200"
    assert settings["transport.port"] == "9300"
    assert settings["discovery.type"] == "single-node"
    assert settings["path.data"] == "/data"


def test_kafka_properties_are_kraft_combined_on_loopback():
    props = _props(kafka.server_properties(Path("/d")))
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["log.dirs"] == "/d"


def test_cluster_ids_are_fresh():
    assert kafka.cluster_id() != kafka.cluster_id()


def test_pom_lists_artifacts_and_excludes_transitives_on_request():
    arts = [maven.Artifact.parse(c) for c in versions.KAFKA_ARTIFACTS]
    root = ET.fromstring(maven.pom_xml(arts, transitive=False))
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    deps = root.findall("m:dependencies/m:dependency", ns)
    assert [d.findtext("m:artifactId", namespaces=ns) for d in deps] == [
        "kafka_2.13",
        "slf4j-reload4j",
        "reload4j",
    ]
    assert all(d.find("m:exclusions", ns) is not None for d in deps)
    transitive = ET.fromstring(maven.pom_xml(arts))
    assert transitive.find("m:dependencies/m:dependency/m:exclusions", ns) is None


@pytest.mark.parametrize("bad", ["a:b", "a::1", "a:b:c:d:e", ""])
def test_artifact_parse_rejects_malformed(bad):
    with pytest.raises(ValueError, match="Maven coordinates"):
        maven.Artifact.parse(bad)


def test_mvn_error_picks_the_line_naming_the_artifact():
    out = "[INFO] x\n[ERROR] Failed: Could not find artifact g:a:zip:1 in central\n[ERROR] \n"
    assert maven._mvn_error(out) == "Failed: Could not find artifact g:a:zip:1 in central"
