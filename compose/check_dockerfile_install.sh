#!/usr/bin/env bash
# Perform the Dockerfile's install step without Docker: copy the build context (what
# .dockerignore lets through) into a temp dir, run the Dockerfile's `RUN pip install ...` line
# in a fresh venv, then run every built service's compose command with --help appended.
# Needs python3.11 (the image's Python) and PyPI. Usage: compose/check_dockerfile_install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

# 1. the build context, filtered by .dockerignore (tracked and untracked, not ignored by git)
git ls-files -co --exclude-standard -z | "$PY" -c '
import fnmatch, shutil, sys
from pathlib import Path
dest = Path(sys.argv[1])
rules = [ln.strip() for ln in open(".dockerignore") if ln.strip() and not ln.startswith("#")]
def ignored(path):
    parts = path.split("/")
    return any(fnmatch.fnmatch(path, r.lstrip("*/")) or fnmatch.fnmatch(path, r)
               or any(fnmatch.fnmatch(p, r.lstrip("*/")) for p in parts) for r in rules)
n = 0
for path in sys.stdin.read().split("\0"):
    if path and Path(path).is_file() and not ignored(path):
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / path)
        n += 1
print(f"context: {n} files")
' "$work/app"

# 2. the Dockerfile's install step, verbatim, in a fresh venv
step=$(sed -n 's/^RUN \(pip install .*\)$/\1/p' Dockerfile)
[ -n "$step" ] || { echo "no 'RUN pip install' line in Dockerfile" >&2; exit 1; }
"$PY" -m venv "$work/venv"
echo "install: $step"
(cd "$work/app" && PATH="$work/venv/bin:$PATH" PIP_DISABLE_PIP_VERSION_CHECK=1 bash -c "$step -q")

# 3. the command of each service running the built image with --help (defaults of ${VAR:-default} interpolated)
"$work/venv/bin/python" - "$work" <<'PY'
import re, subprocess, sys, os
import yaml
work = sys.argv[1]
compose = yaml.safe_load(open("compose/docker-compose.yaml"))
var = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")
env = dict(os.environ, PATH=f"{work}/venv/bin:" + os.environ["PATH"])
failed = 0
built = {s["image"] for s in compose["services"].values() if "build" in s}
for name, service in compose["services"].items():
    if "build" not in service and service.get("image") not in built:
        continue  # a third-party image (Kafka, OpenSearch, Dashboards)
    argv = [var.sub(lambda m: m.group(2) or "", a) for a in service["command"]]
    for arg in argv:
        if arg.endswith((".yaml", ".json")) and not os.path.isfile(f"{work}/app/{arg}"):
            print(f"{name}: {arg} is not in the build context")
            failed += 1
    result = subprocess.run([*argv, "--help"], cwd=f"{work}/app", env=env,
                            capture_output=True, text=True)
    status = "ok" if result.returncode == 0 else f"FAILED rc={result.returncode}"
    print(f"{name}: {' '.join(argv)} --help -> {status}")
    if result.returncode:
        failed += 1
        print(result.stderr[-2000:])
sys.exit(1 if failed else 0)
PY
echo "check_dockerfile_install: ok in $(( $(date +%s) - start )) s"
