#!/usr/bin/env bash
# The Lambda artifact: `chalice package`, then pure-Python wheels for any
# project that came compiled (deploy/purepython.py: no native code, so it runs
# on x86_64 and arm64), then the bytecode of every module in its
# deployment.zip, compiled by the Python its template declares
# (deploy/bytecode.py says why); a SAM template also gets the function URL
# (deploy/function_url.py). The Terraform flavour stays API Gateway only
# (docs/deploy.md says why).
#   usage: deploy/package-aws.sh STAGE OUT_DIR [chalice package options...]
# e.g. deploy/package-aws.sh prod build/tf --pkg-format terraform
# CHALICE: the chalice command (default .venv/bin/chalice); PYTHON: any Python
# that runs deploy/bytecode.py (default .venv/bin/python). Chalice needs a
# region even to package: AWS_DEFAULT_REGION.
set -euo pipefail
cd "$(dirname "$0")/.."
stage="${1:?usage: deploy/package-aws.sh STAGE OUT_DIR [options]}"
out="${2:?usage: deploy/package-aws.sh STAGE OUT_DIR [options]}"
shift 2
chalice="${CHALICE:-.venv/bin/chalice}"
python="${PYTHON:-.venv/bin/python}"

rm -rf "$out"
"$chalice" package --stage "$stage" "$@" "$out"
"$python" -m deploy.purepython "$out"
"$python" -m deploy.bytecode chalice "$out"
if [ -f "$out/sam.json" ]; then
    "$python" -m deploy.function_url "$out/sam.json"
fi
