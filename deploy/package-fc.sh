#!/usr/bin/env bash
# Build the directory Function Compute runs (s.yaml's `code`): app.py, fc.py,
# chalicelib/, Chalice's runtime module, and requirements.txt as pure-Python
# wheels only (py3-none-any: no native code, any CPU; pip fails rather than
# fall back to a compiled one), and the bytecode of every module, compiled by
# FC's Python (deploy/bytecode.py).
#   usage: deploy/package-fc.sh [OUT_DIR]   (default build/fc)
# PYTHON: a Python with chalice installed (default .venv/bin/python);
# FC_PYTHON_VERSION: the function's runtime (default 3.12, as in s.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/fc}"
python="${PYTHON:-.venv/bin/python}"
target="${FC_PYTHON_VERSION:-3.12}"

rm -rf "$out"
mkdir -p "$out/chalice"
"$python" -m pip install --quiet --disable-pip-version-check --no-compile --target "$out" \
    --implementation py --abi none --platform any --python-version "$target" \
    --only-binary=:all: \
    -r requirements.txt
# Like `chalice package`, ship only the module the app imports, not the CLI.
chalice_dir="$("$python" -c 'import chalice, os; print(os.path.dirname(chalice.__file__))')"
cp "$chalice_dir/__init__.py" "$chalice_dir/app.py" "$out/chalice/"
cp -R app.py fc.py chalicelib "$out/"
rm -rf "$out/bin"  # console scripts, never run on FC
find "$out" -name __pycache__ -prune -exec rm -rf {} +
"$python" -m deploy.bytecode tree "python$target" "$out"
