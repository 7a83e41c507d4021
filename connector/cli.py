"""The one command line: ``outlier-connector <command> ...`` (also ``python -m connector``).

Each command lives in its own module, which exposes ``register(subparsers)``; that function
adds the command's parser and sets ``func`` to a callable taking the parsed arguments and
returning an exit code. Modules are imported only when listed here, so a command's heavy
dependencies load only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# command name -> module that registers it (one module per command family)
COMMANDS: dict[str, str] = {
    "stack": "provision.cli",
    "run": "connector.commands.run",
    "generate": "generators.cli",
    "demo": "connector.commands.demo",
    "bench": "connector.commands.bench",
    "setup": "connector.commands.setup",
    "evaluate": "evaluation.cli",
    "validate": "connector.commands.validate",
    "faults": "faults.cli",
    "top": "connector.commands.top",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="outlier-connector",
        description="Score every Kafka record for outliers and index it in OpenSearch.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # command not built yet in this checkout
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    return int(args.func(args) or 0)
