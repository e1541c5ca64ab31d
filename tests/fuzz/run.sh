#!/bin/sh
# Runs a libFuzzer binary for a bounded time; prints the tail of its log and
# fails when it found a crash, a leak or a timeout.
bin=$1 seconds=$2
dir=$(dirname "$bin")
corpus="$dir/corpus-$(basename "$bin")"
mkdir -p "$corpus" "$dir/artifacts"
log="$dir/$(basename "$bin").log"
"$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
	-artifact_prefix="$dir/artifacts/" "$corpus" >"$log" 2>&1
status=$?
tail -n 15 "$log"
if [ $status -ne 0 ]; then
	echo "fuzz: $(basename "$bin") failed (status $status); full log: $log"
	exit 1
fi
echo "fuzz: $(basename "$bin") ran ${seconds}s without a finding"
