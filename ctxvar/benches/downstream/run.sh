#!/usr/bin/env bash
# The downstream benchmark: ctxvar against `tokio::task_local!` in a crate built with
# the default release profile, as users build theirs.
#
#   bash ctxvar/benches/downstream/run.sh            # timings and instruction counts
#   bash ctxvar/benches/downstream/run.sh --quick    # each case once, nothing measured
#
# Timings are the best of 7 runs (ns per operation). Instructions per operation are
# counted by callgrind: (count at N=200000 - count at N=100000) / 100000, so the setup
# of a case cancels out. Both tables compare each case with its baseline (tokio, or
# another ctxvar case where the budget is relative to one).
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --quiet
binary=target/release/ctxvar-downstream-bench
cases=$("$binary" --list)

if [[ "${1:-}" == "--quick" ]]; then
    for case in $cases; do "$binary" "$case" 1000; done
    echo "downstream benchmark: $(echo "$cases" | wc -l) cases ran"
    exit 0
fi

echo "## Timings (best of 7, ns per operation)"
echo
"$binary"
echo

if ! command -v valgrind >/dev/null; then
    echo "valgrind not found: no instruction counts"
    exit 0
fi
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$binary" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_op() {
    local small large
    small=$(count "$1" 100000)
    large=$(count "$1" 200000)
    echo $(( (large - small) / 100000 ))
}
echo "## Instructions per operation (callgrind)"
echo
echo "| case | ctxvar | baseline | ratio |"
echo "|---|---:|---:|---:|"
for name in $(echo "$cases" | sed -n 's/-ctxvar$//p'); do
    ours=$(per_op "$name-ctxvar")
    theirs=$(per_op "$name-baseline")
    ratio=$(python3 -c "print(f'{$ours / max($theirs, 1):.2f}x')")
    echo "| $name | $ours | $theirs | $ratio |"
done
