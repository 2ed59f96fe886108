#!/usr/bin/env bash
# Offline checks of terraform/ (the google provider cannot be downloaded here,
# so `terraform init/validate` cannot run):
#   1. terraform fmt -check
#   2. checkov (every skip justified inline)
#   3. tools/tf_schema_check.py against the google 6.50.0 / archive 2.7.1 schemas
#   4. pytest tests/terraform (structural tests, python-hcl2)
#
# Run from anywhere: bash .ci/terraform-checks.sh
# Sets up its own virtualenvs and reuses them while their pins are unchanged:
#   .venv-tf       python-hcl2 + cdktf provider schemas + pytest
#   .venv-checkov  checkov (it ships a fork that also installs a module named
#                  `hcl2`, so it cannot share a venv with python-hcl2)
# Exits non-zero if any check fails; all checks run either way.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

TF_PINS=(
  "python-hcl2==8.1.4"
  "cdktf-cdktf-provider-google==16.12.1"
  "cdktf-cdktf-provider-archive==11.0.1"
  "pytest==9.2.0"
)
CHECKOV_PINS=("checkov==3.3.30")

log() { printf '\n== %s\n' "$*"; }

pick_python() {
  local candidate
  for candidate in python3.12 python3.11 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "terraform-checks: no Python >= 3.10 found" >&2
  return 1
}

# uv is much faster than pip; use the one on PATH or in the main venv, or
# install it into a small venv of its own.
find_uv() {
  if command -v uv >/dev/null 2>&1; then
    command -v uv
  elif [[ -x "$ROOT/.venv/bin/uv" ]]; then
    echo "$ROOT/.venv/bin/uv"
  else
    if [[ ! -x "$ROOT/.venv-uv/bin/uv" ]]; then
      "$PYTHON" -m venv "$ROOT/.venv-uv" >&2 &&
        "$ROOT/.venv-uv/bin/pip" install -q uv >&2 || return 1
    fi
    echo "$ROOT/.venv-uv/bin/uv"
  fi
}

# ensure_venv DIR PIN...: (re)build DIR unless its stamp lists exactly these pins.
ensure_venv() {
  local dir=$1
  shift
  local want stamp="$dir/.pins"
  want=$(printf '%s\n' "$@")
  if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "reusing $dir"
    return 0
  fi
  echo "building $dir"
  rm -rf "$dir"
  "$UV" venv -q --python "$PYTHON" "$dir" &&
    VIRTUAL_ENV="$dir" "$UV" pip install -q "$@" &&
    printf '%s' "$want" >"$stamp"
}

failures=()
run_check() {
  local name=$1
  shift
  log "$name"
  if "$@"; then
    echo "-- $name: ok"
  else
    echo "-- $name: FAILED"
    failures+=("$name")
  fi
}

log "setup"
PYTHON=$(pick_python) || exit 2
UV=$(find_uv) || {
  echo "terraform-checks: could not install uv" >&2
  exit 2
}
ensure_venv "$ROOT/.venv-tf" "${TF_PINS[@]}" || {
  echo "terraform-checks: could not set up .venv-tf" >&2
  exit 2
}
ensure_venv "$ROOT/.venv-checkov" "${CHECKOV_PINS[@]}" || {
  echo "terraform-checks: could not set up .venv-checkov" >&2
  exit 2
}

fmt_check() {
  if ! command -v terraform >/dev/null 2>&1; then
    echo "terraform is not on PATH (fmt needs only the binary, no provider)" >&2
    return 1
  fi
  # No CLI config exists on these machines; an empty one keeps fmt quiet.
  TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff terraform/
}

checkov_check() {
  # --skip-download: no network for Prisma Cloud guideline mappings.
  local out status
  out=$("$ROOT/.venv-checkov/bin/checkov" --directory terraform --framework terraform \
    --skip-download --quiet --compact 2>&1)
  status=$?
  printf '%s\n' "$out"
  # A file checkov cannot parse (its HCL parser is stricter than Terraform's,
  # e.g. about comments inside for expressions) is silently left unchecked.
  if grep -q "Parsing errors" <<<"$out"; then
    echo "checkov could not parse a file, so it went unchecked" >&2
    return 1
  fi
  return "$status"
}

run_check "terraform fmt" fmt_check
run_check "checkov" checkov_check
run_check "schema check" "$ROOT/.venv-tf/bin/python" tools/tf_schema_check.py terraform
# --confcutdir keeps the repository-wide tests/conftest.py (and its imports)
# out of this venv; these tests need only python-hcl2 and the schema packages.
run_check "pytest tests/terraform" "$ROOT/.venv-tf/bin/python" -m pytest tests/terraform -q \
  --confcutdir=tests/terraform -p no:cacheprovider

echo
if ((${#failures[@]})); then
  echo "terraform-checks: FAILED: ${failures[*]}"
  exit 1
fi
echo "terraform-checks: all passed"
