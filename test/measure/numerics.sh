#!/usr/bin/env bash
# test/measure/numerics.sh: measures the numerics of erasure on real data
# (README, "Numerics"), on a throwaway cluster:
#   ridge     the live model's error against the exact optimum of its
#             remaining rows after erasures (one by one and in bulk, down to
#             20 rows), a fresh double-precision solve's own error on the
#             same rows, their ratio, and verify_model's distance and bound;
#   logistic  over many checks (after training, after each of 100 erasures
#             one by one and each of 10 bulk ones), how often the gradient
#             as evaluated (numpy in double and in extended precision, and
#             verify_model) is within the claimed bound B, and B / gradient.
# Datasets: test/data/wdbc.csv (the same rows as scikit-learn's breast
# cancer set) and Debian python3-sklearn's diabetes and digits, each with
# raw and standardized features.  Prints tables; exits non-zero only if a
# step fails.  MEASURE_PORT (default 55446) and UNLEARN_PRIVATE_PG as for
# test/run; MEASURE_DATASETS="wdbc diabetes digits" runs a subset.
set -euo pipefail
export LC_ALL=C

UNLEARN_PORT=${MEASURE_PORT:-55446}
MEASURE_DATASETS=${MEASURE_DATASETS:-wdbc diabetes digits}

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/lib/cluster.sh
. "$here/../lib/cluster.sh"

ensure_packages postgresql-plpython3-15 python3-numpy python3-sklearn
build_and_install
trap stop_cluster EXIT
start_cluster "fsync = off" "shared_buffers = '512MB'"
export PGOPTIONS="-c client_min_messages=warning"

as_pg psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE measure" >/dev/null
(cd "$WORK/src" && as_pg psql -X -q -v ON_ERROR_STOP=1 -d measure \
	-v datasets="$MEASURE_DATASETS" -f test/measure/numerics.sql)
