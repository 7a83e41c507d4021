"""What ``run`` makes sure of on the servers before it consumes: the index template and the
output topics.

- **Index template.** A document indexed before its scenario's template exists gets dynamic
  mappings (keywords as text, no ``outlier.*`` types) and the index keeps them. So when the
  pipeline's index matches a shipped template's ``index_patterns`` and that template is not
  on the cluster, :func:`ensure_index_template` applies the scenario's OpenSearch assets
  (what ``outlier-connector setup --scenario <name>`` does: component and index templates,
  and the ISM policy and monitors where those plugins exist). An index no shipped template
  matches is left to the user (a warning says so).
- **Output topics.** Dead letters and events are fenced per source partition
  (:mod:`connector.sinks.fence`), which needs the output topic to have at least as many
  partitions as the source. :func:`ensure_output_topics` creates a missing error or events
  topic with the source's partition count (replication as the broker's default), and warns
  with the fix when an existing one has fewer.

Both **block** on the servers and never raise for a server-side refusal (no permission to
create topics, say): they log what they could not do, and the run goes on.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["ASSETS_ROOT", "admin_settings", "ensure_index_template", "ensure_output_topics",
           "prepare", "template_for"]

logger = logging.getLogger(__name__)

#: The repository root, which holds ``opensearch/`` and ``dashboards/``.
ASSETS_ROOT = Path(__file__).resolve().parents[1]


def template_for(index: str, root: Path = ASSETS_ROOT) -> str | None:
    """The shipped scenario whose index template's patterns match ``index`` (or ``None``).

    Examples
    --------
    >>> template_for("outliers-gameday"), template_for("outliers-tolls-2026.10")
    ('gameday', 'tolls')
    >>> template_for("my-own-index") is None
    True
    """
    for path in sorted((root / "opensearch" / "index-templates").glob("*.json")):
        patterns = json.loads(path.read_text(encoding="utf-8")).get("index_patterns", [])
        if any(fnmatch.fnmatchcase(index, p) for p in patterns):
            return path.stem
    return None


def ensure_index_template(client: Any, index: str, root: Path = ASSETS_ROOT) -> str:
    """Apply the scenario's assets when ``index``'s shipped template is missing; returns
    what was done (``"present"``, ``"applied"``, ``"none shipped"`` or ``"failed: …"``)."""
    from opensearchpy import NotFoundError, TransportError

    from connector.assets import apply_assets, load_assets

    scenario = template_for(index, root)
    if scenario is None:
        logger.warning("no shipped index template matches index=%s: its documents get "
                       "dynamic mappings unless you add one", index)
        return "none shipped"
    name = f"outliers-{scenario}"
    try:
        client.indices.get_index_template(name=name)
        return "present"
    except NotFoundError:
        pass
    except TransportError as exc:
        logger.warning("index template %s not checked error=%s", name, exc)
        return f"failed: {exc}"
    try:
        changes = apply_assets(client, load_assets(root, [scenario]))
    except TransportError as exc:
        logger.error("index template %s missing and not applied (run `outlier-connector "
                     "setup --scenario %s`) error=%s", name, scenario, exc)
        return f"failed: {exc}"
    logger.info("index template %s was missing: applied the %s assets (%s)", name, scenario,
                ", ".join(f"{c.kind} {c.name}: {c.action}" for c in changes))
    return "applied"


def ensure_output_topics(admin: Any, sources: list[str], outputs: list[str],
                         timeout: float = 30.0) -> dict[str, str]:
    """Create missing ``outputs`` with as many partitions as the widest of ``sources``.

    Returns ``{topic: what happened}`` (``"present"``, ``"created with N partitions"``,
    ``"too few partitions …"``, ``"source missing"`` or ``"failed: …"``).
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewTopic

    try:
        meta = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        logger.warning("output topics not checked error=%s", exc)
        return {t: f"failed: {exc}" for t in outputs}
    need = max((len(meta[t].partitions) for t in sources if t in meta), default=0)
    done: dict[str, str] = {}
    for topic in dict.fromkeys(outputs):
        have = len(meta[topic].partitions) if topic in meta else 0
        if have and have >= need:
            done[topic] = "present"
        elif have:
            done[topic] = f"too few partitions ({have} < {need})"
            logger.warning("output topic %s has %d partition(s), the source %d: replayed "
                           "outputs may repeat; add partitions, e.g. kafka-topics.sh "
                           "--alter --topic %s --partitions %d", topic, have, need, topic, need)
        elif not need:
            done[topic] = "source missing"
        else:
            # replication -1: the broker's default.replication.factor
            done[topic] = _create(admin, NewTopic(topic, need, -1), timeout)
    return done


def _create(admin: Any, topic: Any, timeout: float) -> str:
    from confluent_kafka import KafkaException

    try:
        admin.create_topics([topic], request_timeout=timeout)[topic.topic].result(timeout)
    except KafkaException as exc:
        if "TOPIC_ALREADY_EXISTS" in str(exc):  # another instance created it meanwhile
            return "present"
        logger.warning("output topic %s not created (create it with %d partitions) error=%s",
                       topic.topic, topic.num_partitions, exc)
        return f"failed: {exc}"
    logger.info("output topic %s created with %d partitions (as its source)", topic.topic,
                topic.num_partitions)
    return f"created with {topic.num_partitions} partitions"


def admin_settings(kafka: Mapping[str, object]) -> dict[str, object]:
    """AdminClient settings from the pipeline's consumer block (connection and security)."""
    from connector.sinks.kafka import producer_settings

    settings = producer_settings(kafka)
    for key in ("linger.ms", "enable.idempotence"):
        settings.pop(key, None)
    return settings


def prepare(cfg: Any) -> None:
    """Everything above for one loaded pipeline (**blocks** on both servers)."""
    from connector.app import opensearch_client

    client = opensearch_client(cfg)
    try:
        ensure_index_template(client, cfg.output.index)
    finally:
        client.close()
    events = cfg.output.events
    outputs = [cfg.output.errors_topic] if cfg.output.errors_topic else []
    if events is not None and not events.kafka.get("bootstrap.servers"):
        outputs.append(events.topic)  # on the source's cluster (else: not ours to create)
    if cfg.source.kind == "kafka" and outputs and cfg.source.kafka.get("bootstrap.servers"):
        from confluent_kafka.admin import AdminClient

        ensure_output_topics(AdminClient(admin_settings(cfg.source.kafka)),
                             list(cfg.source.topics), outputs)
