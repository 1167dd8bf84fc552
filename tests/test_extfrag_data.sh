#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_extfrag_data.sh -- the figures docs/WATCH.md "Claims" and
# docs/MODEL.md "Boot state: the boot's holes" quote come from the
# committed records: watch/extfrag-report.sh on each boot's hook output
# (docs/data/extfrag-2026-12-07/SET/NAME.txt) with its vmcb01 pages
# (NAME.vmcb01) prints exactly NAME.report.  Then the report on made-up
# lines whose answer is known, and its refusals.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/docs/data/extfrag-2026-12-07
report=$root/watch/extfrag-report.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 passed=0 failed=0
boots=("$data"/*/*.txt)
result() {	# NAME OK
	n=$((n + 1))
	if [ "$2" = 1 ]; then
		echo "ok $n $1"; passed=$((passed + 1))
	else
		echo "not ok $n $1"; failed=$((failed + 1))
	fi
}
echo "KTAP version 1"
echo "1..$((${#boots[@]} + 4))"
for f in "${boots[@]}"; do
	name=${f%.txt} rel=${f#"$data"/}
	ok=0
	if bash "$report" "$f" "$name.vmcb01" > "$tmp/out" 2>&1 &&
	   diff -u "$name.report" "$tmp/out" > "$tmp/diff"; then
		ok=1
	else
		sed 's/^/# /' "$tmp/diff" "$tmp/out" | head -n 20
	fi
	result "extfrag-report.sh on ${rel%.txt} prints its .report" "$ok"
done
# Made up: one whole-block claim at pfn 0x7400 (order 10) 1.5 s after arming,
# one steal that keeps its pageblock; vmcb01 pages: two in the claimed block
# (its first page, 2MB-aligned, and another), one aligned outside it.
cat > "$tmp/con" <<'LINES'
snpsafe-extfrag: armed at 20.00
snpsafe-extfrag: lost 0
snpsafe-extfrag:         workload-1 [000] d..3.    21.500000: mm_page_alloc_extfrag: page=000000001 pfn=0x7400 alloc_order=0 fallback_order=10 pageblock_order=9 alloc_migratetype=0 fallback_migratetype=1 fragmenting=0 change_ownership=1
snpsafe-extfrag:         workload-1 [001] d..3.    22.000000: mm_page_alloc_extfrag: page=000000002 pfn=0x9a01 alloc_order=0 fallback_order=0 pageblock_order=9 alloc_migratetype=0 fallback_migratetype=1 fragmenting=1 change_ownership=0
LINES
printf '0x7400\n0x7655\n0x8000\n' > "$tmp/pfns"
bash "$report" "$tmp/con" "$tmp/pfns" > "$tmp/out" 2>&1
ok=0
grep -qx 'claim 1.50 s pfn 0x7400 order 10 request 0' "$tmp/out" &&
	grep -qx '  request 0 fallback 1 smaller change_ownership 0: 1' "$tmp/out" &&
	grep -qx 'vmcb01 3 allocations, 2 aligned; in claimed blocks 2, 1 aligned' "$tmp/out" && ok=1
[ "$ok" = 1 ] || sed 's/^/# /' "$tmp/out"
result "made-up lines: the claim, the steal and the vmcb01 pages counted" "$ok"
# The same pages as an allocation log's alloc_ret lines (struct page addresses)
printf '%s\n' \
	'  w-1 [000] .....  21.6: alloc_ret: (svm_vcpu_create+0x23/0x180 [kvm_amd] <ffffffffc0000000> <- snp_safe_alloc_page_node <ffffffffc0000001>) page=0xffffea00001d0000 vmemmap=0xffffea0000000000' \
	'  w-1 [000] .....  21.7: alloc_ret: (svm_hardware_setup+0x491/0x9e0 [kvm_amd] <ffffffffc0000002> <- snp_safe_alloc_page_node <ffffffffc0000001>) page=0xffffea0000200000 vmemmap=0xffffea0000000000' \
	'  w-1 [001] .....  21.8: pg_alloc_pages: (svm_vcpu_create+0x1a/0x180 [kvm_amd] <ffffffffc0000003> <- alloc_pages <ffffffff81000000>) page=0xffffea00001d1000 vmemmap=0xffffea0000000000' \
	> "$tmp/alloc.log"
ok=0
bash "$report" "$tmp/con" "$tmp/alloc.log" | grep -qx 'vmcb01 2 allocations, 1 aligned; in claimed blocks 2, 1 aligned' && ok=1
result "an allocation log's vmcb01 pages (6.12's and 6.1's probes), the save area's left out" "$ok"
ok=0
if ! bash "$report" "$tmp/none" > /dev/null 2> "$tmp/err" && [ "$(wc -l < "$tmp/err")" -eq 1 ]; then ok=1; fi
result "a file it cannot read: one line, non-zero exit" "$ok"
ok=0
bash "$report" > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && grep -q '^usage: extfrag-report.sh' "$tmp/err" && ok=1
result "no file: usage, exit 2" "$ok"
echo "# extfrag_data: pass:$passed fail:$failed skip:0 total:$n"
echo "# totals: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
