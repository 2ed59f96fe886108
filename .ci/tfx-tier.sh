#!/usr/bin/env bash
# The pipeline compile tiers for tfx_exit_stub, each in an environment of its own
# because TFX and KFP pin the Google stack differently from the main venv. Both
# install the stub's wheel, built here from tfx_exit_stub/ as a pipeline image gets
# it, never the source folder. The tests run in a copy of the checkout without
# tfx_exit_stub/: that folder is the package itself (flat layout), and pytest puts
# the checkout's root on sys.path, where it would shadow the wheel under test.
#
#   kfp: .venv-kfp (Python 3.11, requirements-kfp.txt) + the wheel [kfp]
#        tests/stub/test_kfp_component.py: compile a KFP v2 pipeline with the
#        twin as its dsl.ExitHandler, then run the compiled component's code
#        against the Pub/Sub emulator, once in .venv-kfp and once in a bare
#        venv whose only packages are what the component's own pip line installs.
#        tests/stub/test_results_kfp.py: tools/results_kfp.py still produces the
#        KFP files of tests/data/results (compiled spec, evaluation outputs).
#   tfx: .venv-tfx (Python 3.10 from pyenv, requirements-tfx.txt, about 3 GB)
#        + the wheel [tfx]
#        tests/tfx: compile a TFX pipeline with KubeflowV2DagRunner and the
#        PubSubExitHandler, then run its executor as the image would; and
#        tools/results_tfx.py still produces the TFX files of tests/data/results.
#
#   bash .ci/tfx-tier.sh [kfp|tfx]...     (default: both)
#
# A venv is rebuilt only when its stamp differs from its requirements' hash, so
# a machine that keeps the folders pays the install once. Tests run with
# *_TIER_REQUIRED=1, which turns "package not importable" into an error, and a
# run that skipped anything fails: these tiers are the only proof that the stub
# plugs into real pipelines. Exits non-zero if any tier fails; all run.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

log() { printf '\n== tfx-tier: %s\n' "$*"; }

# uv, not pip, builds and fills the venvs: pip's resolver does not finish on tfx[kfp].
UV=$(command -v uv || echo "$ROOT/.venv/bin/uv")
need_uv() { [[ -x "$UV" ]] || { echo "tfx-tier: uv not found (pip install uv)" >&2; return 1; }; }

pyenv_python() {
  local minor=$1 root candidate
  if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    for candidate in $(ls -d "$root/versions/$minor".*/bin/python 2>/dev/null | sort -V -r); do
      [[ -x "$candidate" ]] && { echo "$candidate"; return 0; }
    done
  fi
  if command -v "python$minor" >/dev/null 2>&1; then
    command -v "python$minor"
    return 0
  fi
  echo "tfx-tier: no Python $minor found (pyenv install $minor)" >&2
  return 1
}

# ensure_venv DIR REQUIREMENTS PYTHON_MINOR: (re)build DIR unless its stamp matches.
ensure_venv() {
  local venv=$1 reqs=$2 minor=$3 stamp="$1/.requirements.sha256" want python start
  want=$(sha256sum "$reqs" | cut -d' ' -f1)
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "reusing $venv"
    return 0
  fi
  echo "building $venv from $reqs"
  python=$(pyenv_python "$minor") || return 1
  need_uv || return 1
  start=$SECONDS
  rm -rf "$venv"
  "$UV" venv -q --python "$python" "$venv" &&
    VIRTUAL_ENV="$venv" "$UV" pip install -q -r "$reqs" || return 1
  # The stamp goes last so that an interrupted install is rebuilt next time.
  printf '%s' "$want" >"$stamp"
  echo "built $venv in $((SECONDS - start))s"
}

# build_stub: the stub's sdist and wheel (python -m build) into a fresh folder;
# sets STUB_WHEEL, which the tests read too.
build_stub() {
  local python="$ROOT/.venv/bin/python" out output
  [[ -x "$python" ]] || { echo "tfx-tier: $python not found (make venv)" >&2; return 1; }
  out=$(mktemp -d "${TMPDIR:-/tmp}/tfx-exit-stub-dist.XXXXXX")
  if ! output=$("$python" -m build --quiet --installer uv --outdir "$out" tfx_exit_stub 2>&1); then
    echo "$output" >&2
    return 1
  fi
  STUB_WHEEL=$(ls "$out"/tfx_exit_stub-*.whl)
  export STUB_WHEEL
  echo "built $(basename "$STUB_WHEEL") ($(stat -c %s "$STUB_WHEEL") bytes)"
}

# stage_tests: what a clone has (tracked and new files, nothing ignored: no venvs,
# builds or caches) but tfx_exit_stub/, copied into a fresh folder; sets STAGE, where
# the tiers' pytest runs, so that `import tfx_exit_stub` can only find the wheel.
stage_tests() {
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/tfx-tier-tests.XXXXXX")
  # --ignore-failed-read: a tracked file deleted in the work tree is left out, as in a commit.
  git -C "$ROOT" ls-files -z --cached --others --exclude-standard -- . ':!:tfx_exit_stub' |
    tar -C "$ROOT" --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$STAGE" -xf - || return 1
  [[ -f "$STAGE/pyproject.toml" && ! -e "$STAGE/tfx_exit_stub" ]] || return 1
  echo "staged the tests in $STAGE (without tfx_exit_stub/)"
}

# install_stub VENV EXTRA: the built wheel with one of its extras, replacing any copy.
install_stub() {
  local venv=$1 extra=$2
  need_uv || return 1
  VIRTUAL_ENV="$venv" "$UV" pip install -q --reinstall-package tfx-exit-stub \
    "tfx-exit-stub[$extra] @ file://$STUB_WHEEL"
}

# run_pytest PYTHON REQUIRED_VAR PYTEST_ARGS...: pytest that fails on any skip.
run_pytest() {
  local python=$1 required=$2 out status=0
  shift 2
  out=$(mktemp)
  # -p no:cacheprovider: these runs leave no cache behind in the checkout.
  env "$required=1" TF_CPP_MIN_LOG_LEVEL=2 "$python" -m pytest -q -rs -p no:cacheprovider \
    -W ignore::FutureWarning "$@" 2>&1 | tee "$out" || status=$?
  if ((status == 0)) && grep -Eq '[0-9]+ skipped' "$out"; then
    echo "tfx-tier: tests were skipped; this tier must run all of them" >&2
    status=1
  fi
  rm -f "$out"
  return "$status"
}

kfp_tier() {
  ensure_venv "$ROOT/.venv-kfp" requirements-kfp.txt 3.11 || return 1
  install_stub "$ROOT/.venv-kfp" kfp || return 1
  # tests/conftest.py is wanted here: it starts the Pub/Sub emulator.
  (cd "$STAGE" && run_pytest "$ROOT/.venv-kfp/bin/python" KFP_TIER_REQUIRED \
    tests/stub/test_kfp_component.py tests/stub/test_results_kfp.py)
}

tfx_tier() {
  ensure_venv "$ROOT/.venv-tfx" requirements-tfx.txt 3.10 || return 1
  install_stub "$ROOT/.venv-tfx" tfx || return 1
  # --confcutdir keeps tests/conftest.py (and its fixtures' imports) out of the
  # TFX venv; the executor test starts its own emulator.
  (cd "$STAGE" && run_pytest "$ROOT/.venv-tfx/bin/python" TFX_TIER_REQUIRED tests/tfx --confcutdir=tests/tfx)
}

tiers=("$@")
((${#tiers[@]})) || tiers=(kfp tfx)
for tier in "${tiers[@]}"; do
  case $tier in
    kfp | tfx) ;;
    *)
      echo "tfx-tier: unknown tier '$tier' (kfp or tfx)" >&2
      exit 2
      ;;
  esac
done

log "the stub's wheel"
build_stub || { echo "tfx-tier: FAILED: the stub's wheel did not build"; exit 1; }
trap 'rm -rf "$(dirname "$STUB_WHEEL")" "${STAGE:-}"' EXIT
stage_tests || { echo "tfx-tier: FAILED: could not copy the checkout without tfx_exit_stub/"; exit 1; }

failures=()
for tier in "${tiers[@]}"; do
  log "$tier"
  start=$SECONDS
  if "${tier}_tier"; then
    echo "-- $tier tier: ok ($((SECONDS - start))s)"
  else
    echo "-- $tier tier: FAILED ($((SECONDS - start))s)"
    failures+=("$tier")
  fi
done

if ((${#failures[@]})); then
  echo "tfx-tier: FAILED: ${failures[*]}"
  exit 1
fi
echo "tfx-tier: all passed"
