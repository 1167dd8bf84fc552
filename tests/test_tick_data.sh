#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_tick_data.sh -- the measured rate simulate's tick is calibrated
# from (docs/MODEL.md "The tick in real time") is the committed data's: the
# lowest, median and highest of the 20 boots' hugepage stores into VMRUN
# regions a second (docs/data/watch-2026-12-06/region-rates.txt, proven and
# possible alike) are SIM_TICK_MEASURED_RATE_LO, _MID and _HI in
# include/snpsafe/sim.h, and the boots are SIM_TICK_MEASURED_BOOTS.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/docs/data/watch-2026-12-06/region-rates.txt
hdr=$root/include/snpsafe/sim.h
const() { sed -n "s/^#define $1 *\([0-9.]*\)$/\1/p" "$hdr"; }
lo=$(const SIM_TICK_MEASURED_RATE_LO) mid=$(const SIM_TICK_MEASURED_RATE_MID)
hi=$(const SIM_TICK_MEASURED_RATE_HI) boots=$(const SIM_TICK_MEASURED_BOOTS)
# lowest, median, highest of column c of the data (comments skipped)
stats() {
	grep -v '^#' "$data" | awk -v c="$1" '{ print $c }' | sort -g |
		awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
			printf "%d %.6g %.6g %.6g\n", NR, v[1], m, v[NR] }'
}
n=0 passed=0 failed=0
echo "KTAP version 1"
echo "1..2"
for col in 7 8; do
	n=$((n + 1))
	got=$(stats "$col")
	want=$(awk -v b="$boots" -v l="$lo" -v m="$mid" -v h="$hi" 'BEGIN { printf "%d %.6g %.6g %.6g\n", b, l, m, h }')
	if [ -n "$lo" ] && [ "$got" = "$want" ]; then
		echo "ok $n column $col of region-rates.txt gives the header's rates"; passed=$((passed + 1))
	else
		echo "# boots, lowest, median, highest: data $got, include/snpsafe/sim.h $want"
		echo "not ok $n column $col of region-rates.txt gives the header's rates"; failed=$((failed + 1))
	fi
done
echo "# tick_data: pass:$passed fail:$failed skip:0 total:$n"
echo "# totals: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
