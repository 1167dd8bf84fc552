#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_rcu_gp_data.sh -- the figures docs/WATCH.md "Where a VM ends,
# and when its inodes go" and docs/MODEL.md (--vmm-migrate) quote come from
# the committed records: watch/rcu-gp-report.sh on each boot's hook output
# (docs/data/rcu-gp-2026-12-07/NAME.txt) prints exactly NAME.report.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/docs/data/rcu-gp-2026-12-07
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 passed=0 failed=0
boots=("$data"/*.txt)
echo "KTAP version 1"
echo "1..$((${#boots[@]} + 1))"
for f in "${boots[@]}"; do
	n=$((n + 1))
	name=$(basename "$f" .txt)
	if bash "$root/watch/rcu-gp-report.sh" "$f" > "$tmp/out" 2>&1 &&
	   diff -u "$data/$name.report" "$tmp/out" > "$tmp/diff"; then
		echo "ok $n rcu-gp-report.sh on $name.txt prints $name.report"; passed=$((passed + 1))
	else
		sed 's/^/# /' "$tmp/diff" "$tmp/out" | head -n 20
		echo "not ok $n rcu-gp-report.sh on $name.txt prints $name.report"; failed=$((failed + 1))
	fi
done
n=$((n + 1))
if ! bash "$root/watch/rcu-gp-report.sh" "$tmp/none" > /dev/null 2> "$tmp/err" && [ "$(wc -l < "$tmp/err")" -eq 1 ]; then
	echo "ok $n a file it cannot read: one line, non-zero exit"; passed=$((passed + 1))
else
	echo "not ok $n a file it cannot read: one line, non-zero exit"; failed=$((failed + 1))
fi
echo "# rcu_gp_data: pass:$passed fail:$failed skip:0 total:$n"
echo "# totals: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
