#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_watch_data.sh -- the pooled figures docs/WATCH.md quotes for the
# campaign of 2026-12-06 come from its committed data: `snpsafe merge` of each
# set's watch --json files (docs/data/watch-2026-12-06/SET-*.json, every boot
# of the set) prints exactly the committed pool-SET.txt.  A change to
# merge's statistics, or to a data file, that moves a quoted figure fails
# here until the docs and the pool are remade (the command is in
# docs/WATCH.md, "Pooled: 30 boots").
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/docs/data/watch-2026-12-06
bin=${SNPSAFE_BIN:-$root/build/snpsafe}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sets=(6.12-fresh 6.1-fresh 6.12-aged 6.1-aged)
n=0 passed=0 failed=0
echo "KTAP version 1"
echo "1..${#sets[@]}"
for s in "${sets[@]}"; do
	n=$((n + 1))
	if "$bin" merge "$data/$s"-[0-9]*.json > "$tmp/out" 2>&1 && diff -u "$data/pool-$s.txt" "$tmp/out" > "$tmp/diff"; then
		echo "ok $n merge of every $s boot prints pool-$s.txt"; passed=$((passed + 1))
	else
		sed 's/^/# /' "$tmp/diff" "$tmp/out" | head -n 40
		echo "not ok $n merge of every $s boot prints pool-$s.txt"; failed=$((failed + 1))
	fi
done
echo "# watch_data: pass:$passed fail:$failed skip:0 total:$n"
echo "# totals: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
