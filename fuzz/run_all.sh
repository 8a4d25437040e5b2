#!/bin/sh
# Runs every libFuzzer target for SECONDS each (default 1800), one after
# another, each from a scratch copy of its committed corpus, so the tree is
# never touched. A single allocation over CAP_MB (default 262: hadron's input
# cap of 256 MiB plus 16 times the largest corpus file) counts as a failure,
# as does RSS over 2 GiB. Prints one line per target: runs, seconds, result.
#   fuzz/run_all.sh [SECONDS] [TARGET...]     (after building build-fuzz/)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-1800}
[ $# -gt 0 ] && shift
targets=${*:-"safetensors npy npz idx hepmc3"}
cap=${CAP_MB:-262}
work=${FUZZ_WORK:-$root/build-fuzz/runs}
status=0
for t in $targets; do
    bin=$root/build-fuzz/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "fuzz_$t: not built (see fuzz/CMakeLists.txt)" >&2; exit 2; }
    dir=$work/$t
    rm -rf "$dir" && mkdir -p "$dir/corpus" "$dir/crashes"
    cp "$root/fuzz/corpus/$t/"* "$dir/corpus/"
    dict=""
    [ -f "$root/fuzz/$t.dict" ] && dict="-dict=$root/fuzz/$t.dict"
    "$bin" -max_total_time="$secs" -malloc_limit_mb="$cap" -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$dir/crashes/" $dict \
        "$dir/corpus" > "$dir/log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
    peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$dir/log")
    if [ $rc -eq 0 ]; then res=clean; else res="FAILED (rc $rc, see $dir/log)"; status=1; fi
    echo "fuzz_$t: ${runs:-?} runs in ${secs} s, peak RSS ${peak:-?} MB, corpus $(ls "$dir/corpus" | wc -l) files: $res"
done
exit $status
