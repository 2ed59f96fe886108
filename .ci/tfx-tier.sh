#!/usr/bin/env bash
# The TFX tier: compile a real TFX pipeline with the tfx_exit_stub exit handler
# (tests/tfx) in an environment of its own, since TFX pins half the Google stack.
#
#   bash .ci/tfx-tier.sh
#
# Builds .venv-tfx (Python 3.10 from pyenv, requirements-tfx.txt, installed with
# uv) unless it exists with a stamp matching the requirements' hash, then runs
# tests/tfx with TFX_TIER_REQUIRED=1 so that a missing TFX fails instead of
# skipping. Exits non-zero on any failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv-tfx"
REQS="$ROOT/requirements-tfx.txt"
STAMP="$VENV/.requirements.sha256"

log() { printf '\n== tfx-tier: %s\n' "$*"; }

find_python310() {
  local root candidate
  if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    # Newest 3.10.x first; TFX 1.16 has no wheels for 3.11+.
    for candidate in $(ls -d "$root"/versions/3.10.*/bin/python 2>/dev/null | sort -V -r); do
      [[ -x "$candidate" ]] && { echo "$candidate"; return 0; }
    done
  fi
  if command -v python3.10 >/dev/null 2>&1; then
    command -v python3.10
    return 0
  fi
  echo "tfx-tier: no Python 3.10 found (pyenv install 3.10)" >&2
  return 1
}

want=$(sha256sum "$REQS" | cut -d' ' -f1)
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  log "reusing $VENV"
else
  log "building $VENV (about 3 GB; a minute or two with uv)"
  PYTHON=$(find_python310)
  # uv, not pip: pip's resolver does not finish on tfx[kfp].
  UV=$(command -v uv || echo "$ROOT/.venv/bin/uv")
  [[ -x "$UV" ]] || { echo "tfx-tier: uv not found (pip install uv)" >&2; exit 2; }
  start=$SECONDS
  rm -rf "$VENV"
  "$UV" venv -q --python "$PYTHON" "$VENV"
  VIRTUAL_ENV="$VENV" "$UV" pip install -q -r "$REQS"
  # The stamp goes last so an interrupted install is rebuilt next time.
  printf '%s' "$want" >"$STAMP"
  echo "built in $((SECONDS - start))s"
fi

log "pytest tests/tfx"
# --confcutdir keeps tests/conftest.py (the emulator fixtures and the main
# venv's imports) out of this run; -p no:cacheprovider leaves no cache behind.
# TFX_TIER_REQUIRED=1 turns "TFX not importable" into an error, and a run that
# skipped anything still fails below: this tier is the only proof of the TFX path.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
TF_CPP_MIN_LOG_LEVEL=2 TFX_TIER_REQUIRED=1 "$VENV/bin/python" -m pytest tests/tfx -q \
  --confcutdir=tests/tfx -p no:cacheprovider -rs -W ignore::FutureWarning 2>&1 | tee "$out" || status=$?
if ((status == 0)) && grep -Eq '[0-9]+ skipped' "$out"; then
  echo "tfx-tier: tests were skipped; the TFX tier must run all of them" >&2
  status=1
fi
exit "$status"
