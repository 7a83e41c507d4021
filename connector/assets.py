"""Idempotent apply of the OpenSearch side as code: templates, ISM policy, channel, monitors.

Every asset is PUT (or created) by its stable name, after a GET and a comparison, so a second
run changes nothing. The comparison is *desired-subset*: every key we ship must be present on
the server with an equal value; keys only the server has (ids, timestamps, ``schema_version``,
``user``, defaults such as ``gap_policy``, retry policies) are ignored, and scalars compare by
their string form because the server returns settings as strings (``"1"`` for ``1``).
A key *removed* from a shipped file is not seen by this comparison: bump the file's
``_meta.version`` (which is compared) and the whole body is PUT again.

Monitors are compared differently: the Alerting plugin stores them in its own normal form
(long-form ``term`` queries, ``boost``, ``gap_policy``, composite ``order``...), so setup
stores a SHA-256 of the body it sends in the monitor's ``ui_metadata`` and compares only that.
An update keeps the stored monitor's trigger and action ids (matched by name): new trigger ids
would make the plugin move its active alerts to history and page them again as NEW.

Plugin APIs (Alerting, Notifications, ISM) may be absent: each is detected from ``_cat/plugins``
or a 400/404 on its endpoint, and reported as a ``skip`` change with the reason, never raised.

Blocking: every call is a synchronous HTTP request through the given opensearch-py client.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from opensearchpy import NotFoundError, OpenSearch, TransportError

logger = logging.getLogger(__name__)

__all__ = ["Assets", "Change", "PLUGINS", "apply_assets", "content_hash", "diff_paths",
           "load_assets", "monitor_body", "monitor_change", "with_stored_ids"]

SCENARIOS = ("gameday", "tolls", "reviews", "sensors", "flowlogs")
CHANNEL_ID = "outliers-webhook"
# plugin -> (component name in _cat/plugins, endpoint whose 400/404 also means "absent")
PLUGINS = {
    "alerting": ("opensearch-alerting", "/_plugins/_alerting/monitors/_search"),
    "notifications": ("opensearch-notifications", "/_plugins/_notifications/features"),
    "ism": ("opensearch-index-management", "/_plugins/_ism/policies"),
}


@dataclass(frozen=True)
class Change:
    """One asset's outcome: ``action`` is create, update, unchanged or skip."""

    kind: str
    name: str
    action: str
    detail: str = ""

    def __str__(self) -> str:
        tail = f": {self.detail}" if self.detail else ""
        return f"{self.action:9} {self.kind} {self.name}{tail}"


@dataclass
class Assets:
    """The asset files of one checkout, parsed; ``_meta`` wrappers are kept as read."""

    component_templates: dict[str, dict] = field(default_factory=dict)
    index_templates: dict[str, dict] = field(default_factory=dict)
    ism_policies: dict[str, dict] = field(default_factory=dict)
    monitors: dict[str, dict] = field(default_factory=dict)  # monitor name -> monitor body
    channel: dict | None = None
    dashboards: dict[str, Path] = field(default_factory=dict)


def _read_dir(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def load_assets(root: Path, scenarios: Iterable[str] | None = None) -> Assets:
    """Read ``opensearch/`` and ``dashboards/`` under ``root``; keep only ``scenarios``."""
    keep = set(scenarios or SCENARIOS)
    osd = root / "opensearch"
    monitors = {d["monitor"]["name"]: d["monitor"]
                for stem, d in _read_dir(osd / "monitors").items() if stem in keep}
    channel_file = osd / "channels" / "webhook.json"
    return Assets(
        component_templates=_read_dir(osd / "component-templates"),
        index_templates={k: v for k, v in _read_dir(osd / "index-templates").items() if k in keep},
        ism_policies=_read_dir(osd / "ism-policies"),
        monitors=monitors,
        channel=json.loads(channel_file.read_text()) if channel_file.exists() else None,
        dashboards={p.stem: p for p in sorted((root / "dashboards").glob("*.ndjson"))
                    if p.stem in keep},
    )


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float)  # bool is an int


def _norm(value: Any) -> str:
    """Compare scalars as the server returns them: ``1``, ``1.0`` and ``"1"`` are one value."""
    if isinstance(value, bool):
        return str(value).lower()
    try:
        return repr(float(value))
    except ValueError:
        return str(value)


def diff_paths(desired: Any, actual: Any, path: str = "") -> list[str]:
    """Paths where ``actual`` does not hold ``desired`` (keys only in ``actual`` are ignored).

    >>> diff_paths({"a": 1, "b": {"c": True}}, {"a": "1", "b": {"c": "true", "id": 9}})
    []
    >>> diff_paths({"a": [1, 2], "b": "x"}, {"a": [1], "b": "y"})
    ['a', 'b']
    """
    if isinstance(desired, dict):
        if not isinstance(actual, dict):
            return [path or "."]
        out: list[str] = []
        for key, want in desired.items():
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(sub)
            else:
                out += diff_paths(want, actual[key], sub)
        return out
    if isinstance(desired, list):
        if not isinstance(actual, list) or len(actual) != len(desired):
            return [path or "."]
        return [p for i, (w, a) in enumerate(zip(desired, actual, strict=True))
                for p in diff_paths(w, a, f"{path}[{i}]")]
    if _scalar(desired) and _scalar(actual) and _norm(desired) == _norm(actual):
        return []
    return [] if desired == actual else [path or "."]


def _call(client: OpenSearch, method: str, url: str, body: Any = None, params: dict | None = None):
    return client.transport.perform_request(method, url, body=body, params=params)


def _get(client: OpenSearch, url: str) -> Any | None:
    try:
        return _call(client, "GET", url)
    except NotFoundError:
        return None


def available_plugins(client: OpenSearch) -> dict[str, str | None]:
    """Map each plugin of :data:`PLUGINS` to ``None`` (present) or the reason it is absent."""
    try:
        rows = client.cat.plugins(params={"format": "json"})
        listed = {row.get("component") for row in rows}
    except TransportError:
        listed = None
    out: dict[str, str | None] = {}
    for plugin, (component, probe) in PLUGINS.items():
        if listed is not None and component in listed:
            out[plugin] = None
            continue
        try:
            _call(client, "GET", probe)
            out[plugin] = None
        except TransportError as exc:
            if exc.status_code in (400, 404, 405):
                out[plugin] = (f"{component} not installed (_cat/plugins does not list it; "
                               f"GET {probe} -> {exc.status_code})")
            else:
                raise
    return out


def _reconcile(kind: str, name: str, desired: dict, current: dict | None, dry_run: bool,
               create: Callable[[], Any], update: Callable[[], Any] | None = None) -> Change:
    """Compare ``desired`` with ``current``; call ``create`` or ``update`` unless no change."""
    paths = diff_paths(desired, current) if current is not None else []
    if current is not None and not paths:
        return Change(kind, name, "unchanged")
    action = "update" if current is not None else "create"
    if not dry_run:
        (update if action == "update" and update else create)()
    return Change(kind, name, action, "differs at " + ", ".join(paths[:5]) if paths else "")


def _apply_templates(client: OpenSearch, assets: Assets, dry_run: bool) -> list[Change]:
    out = []
    named = [("component-template", "_component_template", "component_templates", n, b)
             for n, b in assets.component_templates.items()]
    named += [("index-template", "_index_template", "index_templates", f"outliers-{n}", b)
              for n, b in assets.index_templates.items()]
    for kind, api, key, name, body in named:
        got = _get(client, f"/{api}/{name}")
        current = got[key][0][key[:-1]] if got else None
        put = partial(_call, client, "PUT", f"/{api}/{name}", body=body)
        out.append(_reconcile(kind, name, body, current, dry_run, put))
    return out


def ism_body(doc: dict, retention: str) -> dict:
    """The PUT body of an ISM policy file, with ``${RETENTION}`` set (e.g. ``"30d"``)."""
    text = json.dumps(doc["policy"]).replace("${RETENTION}", retention)
    return {"policy": json.loads(text)}


def _apply_ism(client: OpenSearch, assets: Assets, retention: str, dry_run: bool) -> list[Change]:
    out = []
    for name, doc in assets.ism_policies.items():
        desired, url = ism_body(doc, retention), f"/_plugins/_ism/policies/{name}"
        got = _get(client, url)
        params = got and {"if_seq_no": got["_seq_no"], "if_primary_term": got["_primary_term"]}
        put = partial(_call, client, "PUT", url, body=desired, params=params or None)
        out.append(_reconcile("ism-policy", name, desired, got, dry_run, put))
    return out


def channel_body(doc: dict, url: str) -> dict:
    """The channel config from ``opensearch/channels/webhook.json`` with its URL set."""
    body = copy.deepcopy({k: v for k, v in doc.items() if k != "_meta"})
    body["config"]["webhook"]["url"] = url
    return body


def _apply_channel(client: OpenSearch, doc: dict, url: str, dry_run: bool) -> Change:
    desired = channel_body(doc, url)
    cid = desired["config_id"]
    got = _get(client, f"/_plugins/_notifications/configs/{cid}")
    current = got["config_list"][0] if got and got.get("config_list") else None
    create = partial(_call, client, "POST", "/_plugins/_notifications/configs", body=desired)
    update = partial(_call, client, "PUT", f"/_plugins/_notifications/configs/{cid}",
                     body={"config": desired["config"]})
    return _reconcile("channel", cid, desired, current, dry_run, create, update)


HASH_KEY = "outlier_connector"  # ui_metadata key holding the content hash setup wrote


def _triggers(monitor: dict) -> list[dict]:
    """The trigger bodies under their type key (``bucket_level_trigger``, ...)."""
    return [next(iter(wrapped.values())) for wrapped in monitor.get("triggers", [])]


def content_hash(monitor: dict) -> str:
    """SHA-256 of a monitor body as shipped (ids included), without ``ui_metadata``.

    >>> content_hash({"name": "m", "triggers": []}) == content_hash(
    ...     {"triggers": [], "name": "m", "ui_metadata": {"x": 1}})
    True
    """
    body = {k: v for k, v in monitor.items() if k != "ui_metadata"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def monitor_body(monitor: dict, with_actions: bool, link_url: str | None = None) -> dict:
    """A monitor as sent, its content hash in ``ui_metadata``.

    Without a channel its triggers keep no actions; ``link_url`` (the Dashboards address the
    pages link to) replaces each message template's ``dashboards_url`` param.
    """
    body = copy.deepcopy(monitor)
    for trig in _triggers(body):
        if not with_actions:
            trig["actions"] = []
        for action in trig["actions"]:
            params = action.get("message_template", {}).get("params", {})
            if link_url and "dashboards_url" in params:
                params["dashboards_url"] = link_url.rstrip("/")
    body["ui_metadata"] = {HASH_KEY: {"content_sha256": content_hash(body)}}
    return body


def stored_hash(current: dict) -> str | None:
    """The content hash setup stored in a monitor the server returned, if any.

    >>> stored_hash({"ui_metadata": {"outlier_connector": {"content_sha256": "ab"}}})
    'ab'
    >>> stored_hash({"name": "made in the UI"}) is None
    True
    """
    meta = (current.get("ui_metadata") or {}).get(HASH_KEY) or {}
    return meta.get("content_sha256")


def with_stored_ids(desired: dict, current: dict) -> dict:
    """``desired`` with the trigger and action ids of ``current``, matched by name.

    >>> cur = {"triggers": [{"t": {"id": "T1", "name": "a", "actions": [
    ...     {"id": "A1", "name": "p"}]}}]}
    >>> new = {"triggers": [{"t": {"id": "a", "name": "a", "actions": [
    ...     {"id": "a-p", "name": "p"}, {"name": "q"}]}}]}
    >>> [(t["id"], [a.get("id") for a in t["actions"]]) for t in _triggers(
    ...     with_stored_ids(new, cur))]
    [('T1', ['A1', None])]
    """
    out = copy.deepcopy(desired)
    stored = {t.get("name"): t for t in _triggers(current)}
    for trig in _triggers(out):
        old = stored.get(trig.get("name"))
        if old is None or not old.get("id"):
            continue
        trig["id"] = old["id"]
        old_actions = {a.get("name"): a.get("id") for a in old.get("actions", [])}
        for action in trig.get("actions", []):
            if old_actions.get(action.get("name")):
                action["id"] = old_actions[action["name"]]
            else:
                action.pop("id", None)  # a new action: let the plugin give it an id
    return out


def monitor_change(desired: dict, current: dict | None) -> tuple[str, str]:
    """``(action, detail)`` for one monitor: create, update or unchanged, by content hash.

    >>> sent = monitor_body({"name": "m", "triggers": []}, with_actions=True)
    >>> monitor_change(sent, None), monitor_change(sent, sent)
    (('create', ''), ('unchanged', ''))
    >>> monitor_change(sent, {"name": "m"})[0]
    'update'
    """
    if current is None:
        return "create", ""
    want, have = desired["ui_metadata"][HASH_KEY]["content_sha256"], stored_hash(current)
    if want == have:
        return "unchanged", ""
    return "update", f"content hash {(have or 'none')[:12]} -> {want[:12]}"


def _find_monitor(client: OpenSearch, name: str) -> tuple[str | None, dict | None]:
    query = {"size": 10, "query": {"bool": {"filter": [
        {"term": {"monitor.name.keyword": name}}]}}}
    try:
        res = _call(client, "POST", "/_plugins/_alerting/monitors/_search", body=query)
    except NotFoundError:  # the scheduled-jobs index does not exist yet: no monitors
        return None, None
    hits = [(h["_id"], h["_source"].get("monitor", h["_source"])) for h in res["hits"]["hits"]]
    hits = [(mid, m) for mid, m in hits if m.get("name") == name]
    if len(hits) > 1:
        logger.warning("monitor name=%s found %d times; updating the first", name, len(hits))
    return hits[0] if hits else (None, None)


def _apply_monitors(client, assets, with_actions: bool, dry_run: bool,
                    link_url: str | None = None) -> list[Change]:
    out = []
    for name, monitor in assets.monitors.items():
        desired = monitor_body(monitor, with_actions, link_url)
        mid, current = _find_monitor(client, name)
        action, detail = monitor_change(desired, current)
        if action != "unchanged" and not dry_run:
            if current is None:
                _call(client, "POST", "/_plugins/_alerting/monitors", body=desired)
            else:
                _call(client, "PUT", f"/_plugins/_alerting/monitors/{mid}",
                      body=with_stored_ids(desired, current))
        out.append(Change("monitor", name, action, detail))
    return out


def apply_assets(
    client: OpenSearch,
    assets: Assets,
    *,
    retention: str = "30d",
    webhook_url: str | None = None,
    dry_run: bool = False,
    link_url: str | None = None,
) -> list[Change]:
    """Apply templates, then ISM, channel and monitors where their plugins exist.

    Returns one :class:`Change` per asset; with ``dry_run`` nothing is written and the
    changes say what would happen. ``link_url`` is the Dashboards address pages link to.
    """
    absent = available_plugins(client)
    changes = _apply_templates(client, assets, dry_run)
    if absent["ism"]:
        changes += [Change("ism-policy", n, "skip", absent["ism"]) for n in assets.ism_policies]
    else:
        changes += _apply_ism(client, assets, retention, dry_run)
    with_actions = False
    if assets.channel is None or not webhook_url:
        changes.append(Change("channel", CHANNEL_ID, "skip",
                              "no webhook URL (--webhook-url / OUTLIER_WEBHOOK_URL); "
                              "monitors get no actions"))
    elif absent["notifications"]:
        changes.append(Change("channel", CHANNEL_ID, "skip", absent["notifications"]))
    else:
        changes.append(_apply_channel(client, assets.channel, webhook_url, dry_run))
        with_actions = True
    if absent["alerting"]:
        changes += [Change("monitor", n, "skip", absent["alerting"]) for n in assets.monitors]
    else:
        changes += _apply_monitors(client, assets, with_actions, dry_run, link_url)
    return changes
