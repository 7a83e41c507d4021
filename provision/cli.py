"""``outlier-connector stack up|down|status|logs``: the local Kafka + OpenSearch stack."""

from __future__ import annotations

import argparse
import sys

from provision import procs, stack
from provision.errors import ProvisionError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stack", help="provision and run local Kafka + OpenSearch on 127.0.0.1",
        description="Local Kafka (KRaft, :9092) and OpenSearch (:9200) as processes, "
        "installed into OUTLIER_CACHE_DIR (default ~/.cache/outlier-connector).",
    )  # fmt: skip
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    secure_help = ("the secured stack instead: Kafka SASL_SSL :9192 (SCRAM-SHA-512), "
                   "OpenSearch over HTTPS + basic auth :9243 (see provision/secure.py)")
    for action, text in (("up", "install if needed, start, wait until healthy"),
                         ("down", "stop the servers `up` started"),
                         ("status", "state, pid, URL, version and plugins of each server")):
        actions.add_parser(action, help=text).add_argument(
            "--secure", action="store_true", help=secure_help)
    logs = actions.add_parser("logs", help="tail the servers' logs")
    logs.add_argument("server", nargs="?", choices=stack.NAMES, help="default: both")
    logs.add_argument("-n", type=int, default=40, help="lines per server (default 40)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        if getattr(args, "secure", False):
            return _run_secure(args.action)
        if args.action == "up":
            found = stack.servers(start=True)
            if found.started_by_us:
                for line in stack.status():
                    print(line)
            else:
                print("both servers named by OUTLIER_KAFKA_BOOTSTRAP / OUTLIER_OPENSEARCH_URL:")
                print("nothing provisioned")
            print(f"kafka_bootstrap={found.kafka_bootstrap} opensearch_url={found.opensearch_url}")
        elif args.action == "down":
            for line in stack.down():
                print(line)
        elif args.action == "status":
            for line in stack.status():
                print(line)
        else:
            for name in [args.server] if args.server else list(stack.NAMES):
                path = stack.log_file(name)
                print(f"==> {path} <==")
                print(procs.tail(path, args.n))
    except ProvisionError as exc:
        print(f"stack {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


def _run_secure(action: str) -> int:
    from provision import secure

    if action == "up":
        found = secure.up()
        for line in secure.status():
            print(line)
        print(f"kafka_bootstrap={found.kafka_bootstrap} opensearch_url={found.opensearch_url} "
              f"ca_file={found.ca_file}")
    else:
        for line in secure.down() if action == "down" else secure.status():
            print(line)
    return 0
