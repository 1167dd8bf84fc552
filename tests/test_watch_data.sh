#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_watch_data.sh -- the pooled figures docs/WATCH.md quotes for the
# campaign of 2026-12-06 come from its committed data: `snpsafe merge` of each
# set's watch --json files (docs/data/watch-2026-12-06/SET-*.json, every boot
# of the set) prints exactly the committed pool-SET.txt; so do the dumped
# boots' sets (docs/data/watch-dump-2026-12-06/{rules,dump}/SET-*.json,
# docs/WATCH.md "From each boot's own state"), and all of them judged again by the
# model of the watched workload's shape, with the campaign's 30 boots
# (docs/data/watch-workload-2026-12-07/{rules,dump,camp}, docs/WATCH.md "The model's per-CPU lists against the kernel's").
# Then all of those runs judged again by this build's model (watch
# --remodel, watch/remodel-pools.sh) pool into exactly the committed
# docs/data/watch-remodel-2026-12-07/{rules,dump,camp,extfrag-*}/pool-SET.txt: a
# change to the model that moves a figure docs/WATCH.md "Every boot judged
# again" quotes fails here until the pools and the docs are remade.  A change to
# merge's statistics, or to a data file, that moves a quoted figure fails
# here until the docs and the pool are remade (the command is in
# docs/WATCH.md, "Pooled: 30 boots").
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/docs/data/watch-2026-12-06
bin=${SNPSAFE_BIN:-$root/build/snpsafe}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# DIR/SET: the campaign's four sets; the dumped boots' two, judged with the
# boot-state rules (rules/) and from each boot's own dump (dump/)
dump=$root/docs/data/watch-dump-2026-12-06
work=$root/docs/data/watch-workload-2026-12-07
sets=("$data/6.12-fresh" "$data/6.1-fresh" "$data/6.12-aged" "$data/6.1-aged"
      "$dump/rules/6.12-fresh" "$dump/rules/6.1-fresh" "$dump/dump/6.12-fresh" "$dump/dump/6.1-fresh"
      "$dump/rules/6.12-aged" "$dump/rules/6.1-aged" "$dump/dump/6.12-aged" "$dump/dump/6.1-aged"
      "$work/rules/6.12-fresh" "$work/rules/6.1-fresh" "$work/dump/6.12-fresh" "$work/dump/6.1-fresh"
      "$work/rules/6.12-aged" "$work/rules/6.1-aged" "$work/dump/6.12-aged" "$work/dump/6.1-aged"
      "$work/camp/6.12-fresh" "$work/camp/6.1-fresh" "$work/camp/6.12-aged" "$work/camp/6.1-aged")
remodel=$root/docs/data/watch-remodel-2026-12-07
rsets=()
for dir in "$remodel"/*/; do   # rules dump camp, and the extfrag hook's boots
	d=$(basename "$dir")
	for f in "$remodel/$d"/pool-*.txt; do
		name=$(basename "$f" .txt)
		rsets+=("$d/${name#pool-}")
	done
done
n=0 passed=0 failed=0
echo "KTAP version 1"
echo "1..$((${#sets[@]} + ${#rsets[@]}))"
for s in "${sets[@]}"; do
	n=$((n + 1))
	d=$(dirname "$s") name=$(basename "$s")
	what="merge of every ${s#"$root"/} boot prints pool-$name.txt"
	if (cd "$root" && "$bin" merge "${s#"$root"/}"-[0-9]*.json) > "$tmp/out" 2>&1 &&
	   diff -u "$d/pool-$name.txt" "$tmp/out" > "$tmp/diff"; then
		echo "ok $n $what"; passed=$((passed + 1))
	else
		sed 's/^/# /' "$tmp/diff" "$tmp/out" | head -n 40
		echo "not ok $n $what"; failed=$((failed + 1))
	fi
done
# The remodeled pools: every run of the workload's sets judged again by this build.
if SNPSAFE_BIN=$bin bash "$root/watch/remodel-pools.sh" "$work" "$tmp/remodel" > "$tmp/rlog" 2>&1; then
	rok=1
else
	rok=0
	sed 's/^/# /' "$tmp/rlog" | head -n 10
fi
for s in "${rsets[@]}"; do
	n=$((n + 1))
	what="this build's model on every ${work#"$root"/}/$s run pools into ${remodel#"$root"/}/${s%/*}/pool-${s#*/}.txt"
	if [ "$rok" = 1 ] && diff -u "$remodel/${s%/*}/pool-${s#*/}.txt" "$tmp/remodel/${s%/*}/pool-${s#*/}.txt" > "$tmp/diff"; then
		echo "ok $n $what"; passed=$((passed + 1))
	else
		sed 's/^/# /' "$tmp/diff" 2>/dev/null | head -n 40
		echo "not ok $n $what"; failed=$((failed + 1))
	fi
done
echo "# watch_data: pass:$passed fail:$failed skip:0 total:$n"
echo "# totals: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
