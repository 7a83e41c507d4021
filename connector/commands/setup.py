"""``outlier-connector setup``: apply the OpenSearch side as code, and Dashboards saved objects.

Idempotent: a second run reports every asset ``unchanged`` (monitors by the content hash
setup stores in their ``ui_metadata``; an update keeps their trigger and action ids, so the
plugin's active alerts stay active and nothing is paged again). ``--dry-run`` prints what would
change and writes nothing. Plugin APIs the cluster lacks (Alerting, Notifications, ISM) are
reported as ``skip`` with the reason; the exit code is 0 unless ``--require-plugins``.

Exit codes: 0 applied (or skipped absent plugins), 1 a plugin was absent and
``--require-plugins`` was given, 2 a request failed.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import ssl
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:9200"


def _default_assets_dir() -> Path:
    """The checkout (or image workdir) holding ``opensearch/``: cwd first, then the package's."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (candidate / "opensearch" / "index-templates").is_dir():
            return candidate
    return Path.cwd()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "setup", help="apply index templates, ISM policy, monitors and saved objects",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    env = os.environ.get
    p.add_argument("--url", default=env("OUTLIER_OPENSEARCH_URL", DEFAULT_URL),
                   help="OpenSearch URL, http or https (env OUTLIER_OPENSEARCH_URL)")
    p.add_argument("--user", default=env("OUTLIER_OPENSEARCH_USER"),
                   help="basic auth user (env OUTLIER_OPENSEARCH_USER)")
    p.add_argument("--password", default=env("OUTLIER_OPENSEARCH_PASSWORD"),
                   help="basic auth password (env OUTLIER_OPENSEARCH_PASSWORD)")
    p.add_argument("--password-file", type=Path, default=env("OUTLIER_OPENSEARCH_PASSWORD_FILE"),
                   help="read the password from this file (a mounted Kubernetes Secret; env "
                        "OUTLIER_OPENSEARCH_PASSWORD_FILE)")
    p.add_argument("--ca-certs", help="CA bundle to verify the server's certificate")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    p.add_argument("--assets-dir", type=Path, default=None,
                   help="folder holding opensearch/ and dashboards/ (default: the checkout)")
    p.add_argument("--scenario", action="append", dest="scenarios",
                   help="apply only this scenario's assets (repeatable; default all)")
    p.add_argument("--retention", default=env("OUTLIER_RETENTION", "30d"),
                   help="ISM delete after this index age (default 30d)")
    p.add_argument("--webhook-url", default=env("OUTLIER_WEBHOOK_URL"),
                   help="URL of the Notifications webhook channel monitors page through")
    p.add_argument("--dashboards-url", default=env("OUTLIER_DASHBOARDS_URL"),
                   help="OpenSearch Dashboards URL; when set, import the saved objects")
    p.add_argument("--page-link-url", default=env("OUTLIER_PAGE_LINK_URL"),
                   help="Dashboards address the pages' query links use, as the reader's "
                        "browser reaches it (env OUTLIER_PAGE_LINK_URL; default the "
                        "monitors' own http://127.0.0.1:5601)")
    p.add_argument("--tenant", default=None,
                   help="securitytenant header for the import (e.g. global)")
    p.add_argument("--require-plugins", action="store_true",
                   help="exit 1 when Alerting, Notifications or ISM is absent")
    p.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
    p.set_defaults(func=run)


def client_from_args(args: argparse.Namespace):
    """An opensearch-py client for ``args.url`` with basic auth and TLS options."""
    from connector.config_env import register_secret
    from connector.connections import opensearch_client

    if getattr(args, "password_file", None) and not args.password:
        text = Path(args.password_file).read_text(encoding="utf-8")
        args.password = text[:-1] if text.endswith("\n") else text
    register_secret(args.password)  # masked in every log line from here on
    kwargs: dict = {"hosts": [args.url], "timeout": 30}
    if args.user:
        kwargs["http_auth"] = (args.user, args.password or "")
    if args.url.startswith("https"):
        kwargs["use_ssl"] = True
        if args.insecure:  # verification stays on unless asked; connections warns
            kwargs["verify_certs"] = False
        if args.ca_certs:
            kwargs["ca_certs"] = args.ca_certs
    return opensearch_client(kwargs, "setup")


def _multipart(path: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{path.name}\"\r\nContent-Type: application/ndjson\r\n\r\n").encode()
    return head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode(), boundary


def import_saved_objects(args: argparse.Namespace, files: dict[str, Path]) -> list[str]:
    """POST each bundle to ``/api/saved_objects/_import?overwrite=true``; lines for the report.

    Blocking: one HTTP request per bundle, 60 s timeout each. Raises ``RuntimeError`` when
    Dashboards answers with an error or reports failed objects.
    """
    lines = []
    base = args.dashboards_url.rstrip("/")
    context = None
    if base.startswith("https"):
        context = ssl.create_default_context(cafile=args.ca_certs)
        if args.insecure:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    for scenario, path in files.items():
        count = sum(1 for line in path.read_text().splitlines() if line.strip())
        if args.dry_run:
            lines.append(f"import    saved-objects {path.name}: {count} objects (overwrite)")
            continue
        body, boundary = _multipart(path)
        if not base.startswith(("http://", "https://")):
            raise RuntimeError(f"--dashboards-url must be http(s): {base}")
        req = urllib.request.Request(  # noqa: S310 (scheme checked above)
            f"{base}/api/saved_objects/_import?overwrite=true", data=body, method="POST",
            headers={"osd-xsrf": "true",
                     "Content-Type": f"multipart/form-data; boundary={boundary}"})
        if args.tenant:
            req.add_header("securitytenant", args.tenant)
        if args.user:
            token = base64.b64encode(f"{args.user}:{args.password or ''}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, timeout=60, context=context) as resp:  # noqa: S310
                result = json.load(resp)
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"import {path.name}: HTTP {exc.code} {exc.read()[:300]!r}") from exc
        if not result.get("success", False):
            raise RuntimeError(f"import {path.name}: {json.dumps(result.get('errors'))[:500]}")
        lines.append(f"imported  saved-objects {path.name}: {result.get('successCount')} "
                     f"objects ({scenario})")
    return lines


def run(args: argparse.Namespace) -> int:
    from opensearchpy import TransportError

    from connector.assets import apply_assets, load_assets

    if not getattr(args, "verbose", False):  # opensearch-py logs every expected 404 as WARNING
        logging.getLogger("opensearch").setLevel(logging.ERROR)
    root = args.assets_dir or _default_assets_dir()
    assets = load_assets(root, args.scenarios)
    client = client_from_args(args)
    prefix = "[dry-run] " if args.dry_run else ""
    try:
        changes = apply_assets(client, assets, retention=args.retention,
                               webhook_url=args.webhook_url, dry_run=args.dry_run,
                               link_url=getattr(args, "page_link_url", None))
    except TransportError as exc:
        from connector.config_env import mask

        print(mask(f"setup failed against {args.url}: {exc}"), file=sys.stderr)
        return 2
    for change in changes:
        print(prefix + str(change))
    if args.dashboards_url:
        try:
            for line in import_saved_objects(args, assets.dashboards):
                print(prefix + line)
        except (RuntimeError, OSError) as exc:
            print(f"saved-object import failed: {exc}", file=sys.stderr)
            return 2
    else:
        print(prefix + "skip      saved-objects: no --dashboards-url (OUTLIER_DASHBOARDS_URL)")
    skipped = [c for c in changes if c.action == "skip"]
    absent = [c for c in skipped if "not installed" in c.detail]
    written = sum(c.action in ("create", "update") for c in changes)
    print(f"{prefix}{written} changed, {len(changes) - written - len(skipped)} unchanged, "
          f"{len(skipped)} skipped")
    if absent and args.require_plugins:
        print("--require-plugins: a plugin the assets need is absent", file=sys.stderr)
        return 1
    return 0
