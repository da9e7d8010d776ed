#!/usr/bin/env bash
# Instructions per operation for each case of benches/instructions.rs, counted by
# callgrind: (count at n=200000 - count at n=100000) / 100000.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=$(cargo bench -p ctxvar --bench instructions --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "instructions":
        print(m["executable"])')
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$binary" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
for case in get-ctxvar get-tokio with-ctxvar with-tokio read2-ctxvar read2-tokio poll-ctxvar poll8-ctxvar poll-tokio pollread-ctxvar pollread-tokio bind-attribute bind-by-hand bind-tokio; do  # = CASES in instructions.rs
    small=$(count "$case" 100000)
    large=$(count "$case" 200000)
    echo "$case $(( (large - small) / 100000 ))"
done
