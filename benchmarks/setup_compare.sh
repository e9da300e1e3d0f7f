#!/usr/bin/env bash
# Create (or refresh) benchmarks/.venv-compare: wandb, MLflow and Trackio at the
# versions pinned in requirements-compare.txt, plus tracklet from this repository
# installed in editable mode. Safe to run again: an existing venv is reused and
# pip only installs what is missing or changed.
#
#   bash benchmarks/setup_compare.sh            # uses python3 from PATH
#   PYTHON=/usr/bin/python3.11 bash benchmarks/setup_compare.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="$here/.venv-compare"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv"
    "$python" -m venv "$venv"
fi
vpy="$venv/bin/python"

export PIP_DISABLE_PIP_VERSION_CHECK=1
"$vpy" -m pip install --quiet --upgrade pip
"$vpy" -m pip install --quiet -r "$here/requirements-compare.txt"

if [ -f "$repo/pyproject.toml" ] || [ -f "$repo/setup.py" ]; then
    "$vpy" -m pip install --quiet -e "$repo"
else
    echo "warning: $repo has no pyproject.toml yet; tracklet not installed" >&2
fi

"$vpy" - <<'EOF'
import importlib.metadata as md
for name in ("tracklet", "wandb", "mlflow", "trackio"):
    try:
        print(f"{name:9s} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"{name:9s} NOT INSTALLED")
EOF
if ! command -v b3sum >/dev/null 2>&1; then
    # artifact_compare.py compares tracklet's BLAKE3 hashing with b3sum, BLAKE3's own tool
    echo "note: b3sum is not installed (apt-get install b3sum, or cargo install b3sum);" \
         "artifact_compare.py will report that comparison as not measured" >&2
fi
echo "ready: $vpy benchmarks/core_compare.py"
