"""``evaluate``'s machine interface, --list-configs, --protocol and missing-data messages."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation import cli
from evaluation.configs import CONFIGS
from evaluation.corpus import DEFAULT_NAB

ROOT = Path(__file__).resolve().parents[3]
#: The two smallest shared files, one per NAB folder.
FILES = ("realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv",
         "realKnownCause/rogue_agent_key_hold.csv")


def _parse(argv):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    return parser.parse_args(["evaluate", *argv])


def _subset(tmp_path):
    """A NAB-layout folder with two shared files and NAB's full label file (22 absent)."""
    for name in FILES:
        (tmp_path / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEFAULT_NAB / "data" / name, tmp_path / "data" / name)
    (tmp_path / "labels").mkdir()
    shutil.copy(DEFAULT_NAB / "labels" / "combined_windows.json", tmp_path / "labels")
    return tmp_path


def test_machine_interface_writes_exactly_the_stable_json(tmp_path, capsys):
    folder = _subset(tmp_path / "nab")
    labels = json.loads((folder / "labels" / "combined_windows.json").read_text())
    assert len(labels) > len(FILES)  # labels of files that are not there are ignored
    out = tmp_path / "scores.json"
    args = _parse([str(folder), "--configs", "default", "zscore", "--json", str(out),
                   "--workers", "1"])
    assert cli.run(args) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"default", "zscore"}
    profiles = {"standard", "reward_low_FP", "reward_low_FN"}
    for entry in data.values():
        assert set(entry) == {"tuned", "untuned", "seconds"}
        assert set(entry["tuned"]) == profiles and set(entry["untuned"]) == profiles
        assert all(isinstance(v, float) and -300 < v <= 100 for v in
                   [*entry["tuned"].values(), *entry["untuned"].values()])
        assert entry["seconds"] > 0
        assert entry["tuned"]["standard"] >= entry["untuned"]["standard"] - 1e-9
    assert "2 files" in capsys.readouterr().out


def test_list_configs_prints_every_name_and_help_does_not(capsys):
    assert cli.run(_parse(["--list-configs"])) == 0
    listed = capsys.readouterr().out
    for name in [*CONFIGS, "default", "nab-best"]:
        assert f"  {name} " in listed
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    sub = parser._subparsers._group_actions[0].choices["evaluate"]  # noqa: SLF001
    assert "idea-smooth2" not in sub.format_help() and "tail-20x512" not in sub.format_help()


def test_unknown_config_is_one_line_and_exit_2(capsys):
    assert cli.run(_parse(["--configs", "nope"])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--list-configs" in err


def test_protocol_through_the_cli_with_json(tmp_path, capsys):
    out = tmp_path / "p.json"
    args = _parse(["--protocol", "--nab", str(_subset(tmp_path / "nab")), "--rows", "all",
                   "--seeds", "42", "--cache", str(tmp_path / "cache"), "--json", str(out),
                   "--workers", "1"])
    assert cli.run(args) == 0
    assert "NAB all files" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["seeds"] == [42] and data["configs"]["default"]["lines"][0]["row"] == "all"


def _run(*argv):
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("argv", [
    ["-m", "connector", "evaluate", "{missing}", "--configs", "default"],
    ["-m", "connector", "evaluate", "--protocol", "--nab", "{missing}"],
    ["-m", "connector", "evaluate", "--protocol", "--rows", "skab", "--skab", "{missing}"],
    ["-m", "evaluation.sweep", "--shapes", "5x64", "--nab", "{missing}"],
], ids=["evaluate", "protocol-nab", "protocol-skab", "sweep"])
def test_missing_data_is_one_line_with_where_to_get_it(tmp_path, argv):
    missing = str(tmp_path / "absent")
    done = _run(*[a.replace("{missing}", missing) for a in argv])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert missing in done.stderr
    where = "github.com/waico/SKAB" if "skab" in argv else "github.com/numenta/NAB"
    assert where in done.stderr
