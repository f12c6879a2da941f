#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU (DESIGN.md "GPU checks"):
#
#   bash benchmarks/gpu_check.sh             # everything, within GPU_CHECK_BUDGET (480 s)
#   bash benchmarks/gpu_check.sh --dry-run   # the environment section only, then stop
#   bash benchmarks/gpu_check.sh --fetch-wheels   # here, with PyPI: wheels for a machine without
#
# Steps, each timed and cut by `timeout` so that the whole stays inside the budget:
#   environment  nvidia-smi (GPU, driver, CUDA version, memory), the Python interpreters, dolfinx
#   python       an interpreter that imports thermocfd's tracker and CuPy; what is missing comes from
#                the wheel folder ($GPU_CHECK_WHEELS, default .whl/: carry it) and then from the
#                package index (cupy-cuda11x/12x/13x after the driver's CUDA major version), unless
#                GPU_CHECK_NO_INSTALL=1. A system interpreter gets a venv (--system-site-packages,
#                so it sees Debian's dolfinx); one that already is a venv gets an overlay folder on
#                PYTHONPATH (a venv made from a venv would not see its packages)
#   cupy         `thermocfd info` and the tracker's backend probe: CuPy must see the GPU
#   pytest       every test marked gpu under tests/tracking, -rs (modules needing dolfinx skip)
#   benchmark    benchmarks/bench_tracker.py --gpu-only: float32/float64, 1e6-1e8 particles,
#                fused launches, internal states, bandwidth against the device's peak
#
# Results: $OUT/gpu_check.log (what a person reads) and $OUT/gpu_check.json (the numbers);
# OUT defaults to ./gpu_check_out. Exit status: 0 every step passed; 1 a step failed (the
# others still ran where they could); 2 bad usage; 77 no NVIDIA GPU, or --dry-run: nothing checked.
set -euo pipefail

NO_GPU_STATUS=77
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$ROOT/gpu_check_out}"
WORK="${GPU_CHECK_WORK:-${TMPDIR:-/tmp}/thermocfd_gpu_check}"
WHEELS="${GPU_CHECK_WHEELS:-$ROOT/.whl}"
BUDGET="${GPU_CHECK_BUDGET:-480}"
NO_INSTALL="${GPU_CHECK_NO_INSTALL:-0}"
MODE=check
case "${1:-}" in
  "") ;;
  --dry-run) MODE=dry ;;
  --fetch-wheels) MODE=fetch ;;
  -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "gpu_check: unknown argument '$1' (use --dry-run, --fetch-wheels or nothing)" >&2; exit 2 ;;
esac

# The distributions each module needs, installed with --no-deps (pip --target would
# otherwise reinstall every dependency, NumPy included, over the interpreter's own).
declare -A DISTS=(
  [numpy]="numpy"
  [numba]="numba llvmlite"
  [pydantic]="pydantic pydantic-core annotated-types typing-inspection"
  [typing_extensions]="typing-extensions"
  [pint]="pint flexcache flexparser platformdirs"
  [mpi4py]="mpi4py"
  [pytest]="pytest pluggy iniconfig packaging"
)
REQUIRED_MODULES="numpy numba typing_extensions pydantic pint mpi4py pytest"

if [[ $MODE == fetch ]]; then
  # Run where PyPI is reachable; GPU_CHECK_PYTHON_VERSION is the GPU machine's Python.
  version="${GPU_CHECK_PYTHON_VERSION:-3.12}"
  mkdir -p "$WHEELS"
  python="$ROOT/.venv/bin/python"
  [[ -x $python ]] || python="$(command -v python3)"
  # What a CUDA machine image with CuPy, numba, NumPy, mpi4py and pytest lacks for
  # `import thermocfd`, at the versions this checkout uses.
  for dist in ${DISTS[pydantic]} ${DISTS[pint]}; do
    pin="$("$python" -m pip show "$dist" 2>/dev/null | sed -n 's/^Version: //p')"
    "$python" -m pip download -q --no-deps --only-binary=:all: --python-version "$version" \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d "$WHEELS" "$dist${pin:+==$pin}"
  done
  ls -l "$WHEELS"
  exit 0
fi

START=$(date +%s)
DEADLINE=$((START + BUDGET))
mkdir -p "$OUT" "$WORK"
LOG="$OUT/gpu_check.log"
STEPS="$WORK/steps.tsv"
ENVTSV="$WORK/environment.tsv"
: >"$LOG"
: >"$STEPS"
: >"$ENVTSV"
rm -f "$WORK/bench.json" "$WORK/info.json" "$WORK/pytest.xml"
FAILED=0

log() { printf '%s\n' "$*" | tee -a "$LOG"; }
env_entry() { printf '%s\t%s\n' "$1" "$2" >>"$ENVTSV"; log "  $1: $2"; }
record() {  # name status seconds message
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$STEPS"
  [[ $2 == failed ]] && FAILED=1
  log "== $1: $2 (${3} s)${4:+: $4}"
}
seconds_left() { echo $((DEADLINE - $(date +%s))); }
step_limit() {  # the smaller of a step's own budget and what is left, keeping $2 s in reserve
  local left=$(($(seconds_left) - ${2:-0}))
  ((left < $1)) && echo $((left > 5 ? left : 5)) || echo "$1"
}
run_logged() {  # limit cmd... : run with a hard time limit, output into the log; returns its status
  local limit=$1; shift
  set +e
  timeout -k 10 "$limit" "$@" 2>&1 | tee -a "$LOG"
  local status=${PIPESTATUS[0]}
  set -e
  return "$status"
}

write_json() {  # exit status: gpu_check.json from the steps, the environment and the results
  local python
  python="$(command -v python3 || true)"
  [[ -n ${PY:-} ]] && python="$PY"
  if [[ -n $python ]] && "$python" - "$OUT/gpu_check.json" "$STEPS" "$ENVTSV" "$WORK" "$1" "$BUDGET" <<'EOF'
import json, sys, time
from pathlib import Path
out, steps, env, work, status, budget = sys.argv[1:]
def rows(path):
    return [line.split("\t") for line in Path(path).read_text().splitlines() if line]
work = Path(work)
data = {"exit_status": int(status), "budget_s": int(budget),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "environment": {key: value for key, value in rows(env)},
        "steps": [{"name": n, "status": s, "seconds": int(t), "message": m} for n, s, t, m in rows(steps)]}
for key, name in (("info", "info.json"), ("pytest", "pytest.json"), ("benchmark", "bench.json")):
    path = work / name
    if path.exists():
        try:
            data[key] = json.loads(path.read_text())
        except ValueError as error:
            data[key] = {"error": f"unreadable {name}: {error}"}
Path(out).write_text(json.dumps(data, indent=2) + "\n")
EOF
  then return 0; fi
  # No Python at all: the steps alone, still machine-readable.
  {
    printf '{"exit_status": %s, "budget_s": %s, "steps": [' "$1" "$BUDGET"
    local first=1 name status secs msg
    while IFS=$'\t' read -r name status secs msg; do
      ((first)) || printf ', '
      first=0
      msg=${msg//\\/\\\\}
      printf '{"name": "%s", "status": "%s", "seconds": %s, "message": "%s"}' "$name" "$status" "$secs" "${msg//\"/\\\"}"
    done <"$STEPS"
    printf ']}\n'
  } >"$OUT/gpu_check.json"
}

finish() {  # exit status
  log "== total $(($(date +%s) - START)) s of ${BUDGET} s; results in $OUT/gpu_check.json"
  write_json "$1"
  exit "$1"
}

# --- (a) environment -------------------------------------------------------------------
t0=$(date +%s)
log "thermocfd gpu_check $(date '+%Y-%m-%d %H:%M:%S'), budget ${BUDGET} s, OUT=$OUT"
log "== environment"
env_entry commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
env_entry host "$(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 2^20}' /proc/meminfo)"
PYTHONS=()
for candidate in "${GPU_CHECK_PYTHON:-}" "$ROOT/.venv/bin/python" "$(command -v python3 || true)" /usr/bin/python3; do
  [[ -n $candidate && -x $candidate ]] || continue
  "$candidate" -c 'import sys' 2>/dev/null || continue  # e.g. a carried venv whose base is absent
  [[ " ${PYTHONS[*]} " == *" $candidate "* ]] || PYTHONS+=("$candidate")
done
for candidate in "${PYTHONS[@]}"; do
  env_entry "python $candidate" "$(timeout 60 "$candidate" - <<'EOF' 2>/dev/null || echo "probe failed"
import importlib.util, sys
have = [m for m in ("cupy", "dolfinx", "numba", "numpy", "pydantic", "pytest") if importlib.util.find_spec(m)]
print(f"Python {sys.version.split()[0]}, has: {' '.join(have) or 'none of cupy dolfinx numba numpy pydantic pytest'}")
EOF
)"
done
((${#PYTHONS[@]})) || env_entry python "none found"
SMI="$(command -v nvidia-smi || true)"
GPU_OK=0
if [[ -z $SMI ]]; then
  env_entry nvidia-smi "not found"
elif ! header="$(timeout 30 nvidia-smi 2>&1)"; then
  env_entry nvidia-smi "failed: $(printf '%s' "$header" | head -n 3 | tr '\n' ' ')"
else
  GPU_OK=1
  query="$(timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv,noheader 2>&1 || true)"
  CUDA_VERSION="$(printf '%s' "$header" | sed -n 's/.*CUDA Version: *\([0-9][0-9.]*\).*/\1/p' | head -n 1)"
  env_entry gpu "$query"
  env_entry cuda_driver_version "${CUDA_VERSION:-unknown}"
fi
if ((!GPU_OK)); then
  record environment no_gpu $(($(date +%s) - t0)) "no NVIDIA GPU: nothing to check"
  echo "gpu_check: no NVIDIA GPU: nothing to check (exit status $NO_GPU_STATUS)" >&2
  finish $NO_GPU_STATUS
fi
record environment ok $(($(date +%s) - t0)) ""
if [[ $MODE == dry ]]; then
  record plan skipped 0 "dry run: stopped after the environment section, nothing checked"
  echo "gpu_check: dry run: nothing checked (exit status $NO_GPU_STATUS)" >&2
  finish $NO_GPU_STATUS
fi

# --- (b) python: an interpreter with CuPy and the tracker's dependencies ---------------
t0=$(date +%s)
log "== python"
CUDA_MAJOR="${CUDA_VERSION%%.*}"
CUPY_DIST="cupy-cuda${CUDA_MAJOR:-12}x"
case "$CUDA_MAJOR" in 11|12|13) ;; *) log "  CUDA major '${CUDA_MAJOR}' has no CuPy wheel series here; trying $CUPY_DIST" ;; esac
DISTS[cupy]="$CUPY_DIST fastrlock"
PY=""
for candidate in "${PYTHONS[@]}"; do  # the first that has CuPy, else the first
  if "$candidate" -c 'import cupy' 2>/dev/null; then PY="$candidate"; break; fi
done
[[ -n $PY || ${#PYTHONS[@]} -eq 0 ]] || PY="${PYTHONS[0]}"
missing() {  # the modules of $REQUIRED_MODULES and cupy that $PY cannot import
  local module out=""
  for module in $REQUIRED_MODULES cupy; do
    "$PY" -c "import $module" 2>/dev/null || out+="$module "
  done
  echo "$out"
}
install() {  # target-option... -- modules: from the wheel folder, then the index
  local options=() dists="" module
  while [[ $1 != -- ]]; do options+=("$1"); shift; done; shift
  for module in "$@"; do dists+="${DISTS[$module]} "; done
  if [[ -d $WHEELS ]] && compgen -G "$WHEELS/*.whl" >/dev/null; then
    log "  installing from $WHEELS: $dists"
    run_logged "$(step_limit 90 300)" "$PY" -m pip install -q --no-index --no-deps --find-links "$WHEELS" \
      "${options[@]}" $dists || log "  (not all of them are in $WHEELS)"
  fi
  read -r -a still <<<"$(missing)"
  ((${#still[@]})) || return 0
  if [[ $NO_INSTALL == 1 ]]; then
    log "  installing from the package index disabled (GPU_CHECK_NO_INSTALL=1)"
    return 0
  fi
  dists=""
  for module in "${still[@]}"; do dists+="${DISTS[$module]} "; done
  log "  installing from the package index: $dists"
  run_logged "$(step_limit 150 240)" "$PY" -m pip install -q --no-deps --retries 1 --timeout 20 \
    "${options[@]}" $dists || log "  pip could not install them (no network?)"
}
message=""
if [[ -z $PY ]]; then
  message="no Python interpreter found"
else
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  read -r -a need <<<"$(missing)"
  if ((${#need[@]})); then
    log "  $PY lacks: ${need[*]}"
    if "$PY" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
      export PYTHONPATH="$WORK/site:$PYTHONPATH"
      install --target "$WORK/site" -- "${need[@]}"
    else
      [[ -x $WORK/venv/bin/python ]] || run_logged 120 "$PY" -m venv --system-site-packages "$WORK/venv" || true
      if [[ -x $WORK/venv/bin/python ]]; then
        PY="$WORK/venv/bin/python"
        install -- "${need[@]}"
      else  # no venv module (Debian's python3-venv): the overlay folder instead
        export PYTHONPATH="$WORK/site:$PYTHONPATH"
        install --target "$WORK/site" -- "${need[@]}"
      fi
    fi
  fi
  read -r -a still <<<"$(missing)"
  if ((${#still[@]})); then
    message="$PY still cannot import: ${still[*]}"
    [[ " ${still[*]} " == *" cupy "* ]] && message+=" (CuPy: pip install $CUPY_DIST where PyPI is reachable, or put its wheel in $WHEELS)"
    [[ $NO_INSTALL == 1 ]] && message+="; installing was disabled (GPU_CHECK_NO_INSTALL=1)"
  fi
fi
env_entry interpreter "${PY:-none}"
if [[ -n $message ]]; then
  record python failed $(($(date +%s) - t0)) "$message"
else
  record python ok $(($(date +%s) - t0)) "$("$PY" -c 'import cupy, numpy, numba; print(f"CuPy {cupy.__version__}, NumPy {numpy.__version__}, numba {numba.__version__}")')"
fi

# --- (c) CuPy sees the GPU ---------------------------------------------------------------
t0=$(date +%s)
log "== cupy"
CUPY_OK=0
if [[ -z $PY ]]; then
  record cupy skipped 0 "no Python interpreter"
else
  (cd "$ROOT" && timeout -k 10 "$(step_limit 60)" "$PY" -m thermocfd info --json >"$WORK/info.json" 2>>"$LOG") || true
  [[ -s $WORK/info.json ]] && cat "$WORK/info.json" >>"$LOG"
  if probe="$(timeout "$(step_limit 60)" "$PY" -c '
from thermocfd.tracking import backend_info
gpu = backend_info()["gpu"]
print(gpu.get("device") if gpu["available"] else gpu["reason"])
raise SystemExit(0 if gpu["available"] else 1)' 2>&1)"; then
    CUPY_OK=1
    record cupy ok $(($(date +%s) - t0)) "CuPy sees $probe"
  else
    record cupy failed $(($(date +%s) - t0)) "CuPy does not see the GPU: $(printf '%s' "$probe" | tail -n 1)"
  fi
fi

# --- (d) the GPU tests -------------------------------------------------------------------
t0=$(date +%s)
log "== pytest"
if ((!CUPY_OK)); then
  record pytest skipped 0 "CuPy unusable (step cupy)"
else
  # Collection imports every module of tests/tracking: those that need dolfinx skip as a
  # whole (importorskip) where it is absent, and -rs lists them.
  status=0
  (cd "$ROOT" && run_logged "$(step_limit 240 150)" "$PY" -m pytest -q -rs -m gpu -p no:cacheprovider \
    --junitxml "$WORK/pytest.xml" tests/tracking) || status=$?
  "$PY" - "$WORK/pytest.xml" "$WORK/pytest.json" <<'EOF' || true
import json, sys
import xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[1]).getroot()
suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
cases = {}
for case in suite.iter("testcase"):
    outcome = "passed"
    for child in case:
        if child.tag in ("failure", "error", "skipped"):
            kind = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
            outcome = f"{kind}: {child.get('message', '')}"[:300]
    cases[f"{case.get('classname')}::{case.get('name')}"] = {"outcome": outcome, "seconds": float(case.get("time", 0))}
json.dump({key: suite.get(key) for key in ("tests", "failures", "errors", "skipped", "time")} | {"cases": cases},
          open(sys.argv[2], "w"), indent=2)
EOF
  if ((status == 0)); then
    record pytest ok $(($(date +%s) - t0)) "$(grep -o '[0-9]* passed.*' "$LOG" | tail -n 1)"
  elif ((status == 124 || status == 137)); then
    record pytest failed $(($(date +%s) - t0)) "stopped at its time limit"
  else
    record pytest failed $(($(date +%s) - t0)) "pytest exit status $status: $(grep -E '[0-9]+ (passed|failed|error)' "$LOG" | tail -n 1)"
  fi
fi

# --- (e) the tracker benchmark's GPU rows ------------------------------------------------
t0=$(date +%s)
log "== benchmark"
if ((!CUPY_OK)); then
  record benchmark skipped 0 "CuPy unusable (step cupy)"
else
  status=0
  run_logged "$(step_limit 400 15)" env PYTHONUNBUFFERED=1 "$PY" "$ROOT/benchmarks/bench_tracker.py" --gpu-only \
    --json "$WORK/bench.json" || status=$?
  if ((status == 0)); then
    record benchmark ok $(($(date +%s) - t0)) ""
  elif ((status == 124 || status == 137)); then
    record benchmark failed $(($(date +%s) - t0)) "stopped at its time limit (rows so far in the log)"
  else
    record benchmark failed $(($(date +%s) - t0)) "bench_tracker.py exit status $status (see the log)"
  fi
fi

finish $FAILED
