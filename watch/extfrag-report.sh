#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# watch/extfrag-report.sh FILE [VMCB01] -- what watch/guest-extfrag.sh
# recorded in one boot (FILE: its "snpsafe-extfrag:" lines, or the boot's
# console.txt), as docs/WATCH.md "Claims" quotes it:
#
#   armed        when recording began (uptime, s), the workload starting
#                next, and the events the buffer lost
#   events       mm_page_alloc_extfrag's events by the request's type, the
#                fallback's type, whether the fallback block was of
#                pageblock order or more, and change_ownership
#   claim        each event that took a pageblock for another type: its
#                time after arming, pfn and fallback order
#
# With VMCB01 (the boot's alloc.log, or a list of vmcb01 pfns, one "0x..."
# a line): how many vmcb01 allocations, and 2MB-aligned ones, fell in the
# blocks claimed while recording.
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: extfrag-report.sh FILE [VMCB01]" >&2; exit 2; }
for f in "$@"; do
	[ -r "$f" ] || { echo "extfrag-report.sh: cannot read $f" >&2; exit 1; }
done
{
	grep -a 'snpsafe-extfrag: ' "$1" | sed 's/^.*snpsafe-extfrag: /E /' || true
	if [ $# -eq 2 ]; then
		# alloc.log's vmcb01 allocations as pfns (page - vmemmap) / 64, or a pfn
		# list: 6.12's snp_safe_alloc_page_node() returning to svm_vcpu_create,
		# 6.1's alloc_pages() called from it (its only page allocation there)
		grep -a -E '(alloc_ret|pg_alloc_pages): \(svm_vcpu_create\+|^0x[0-9a-f]+$' "$2" |
			sed -E 's/^.* page=(0x[0-9a-f]+) vmemmap=(0x[0-9a-f]+).*$/P \1 \2/; s/^(0x[0-9a-f]+)$/V \1/' || true
	fi
} | awk -v have_v=$(( $# == 2 )) '
function hex(s,   i, c, v) {
	s = tolower(s); sub(/^0x/, "", s); v = 0
	for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
	return v
}
function field(name) {
	if (!match($0, name "=[0-9a-fx]+")) return ""
	return substr($0, RSTART + length(name) + 1, RLENGTH - length(name) - 1)
}
$1 == "E" && $2 == "armed" { armed = $4 + 0; print "armed at " $4; next }
$1 == "E" && $2 == "lost" { print "lost " $3; next }
$1 == "E" && / mm_page_alloc_extfrag: / {
	match($0, /[0-9]+\.[0-9]+: mm_page_alloc_extfrag/); t = substr($0, RSTART, RLENGTH) + 0
	am = field("alloc_migratetype"); fm = field("fallback_migratetype")
	fo = field("fallback_order") + 0; co = field("change_ownership")
	k = "request " am " fallback " fm (fo >= 9 ? " pageblock+" : " smaller") " change_ownership " co
	if (!(k in ev)) keys[++nk] = k
	ev[k]++; n++
	if (co == 1) {
		pfn = hex(field("pfn")); base = pfn - pfn % 2 ^ fo
		if (fo < 9) base = pfn - pfn % 512
		size = fo >= 9 ? 2 ^ fo : 512
		nc++; cb[nc] = base; cs[nc] = size
		printf "claim %.2f s pfn 0x%x order %d request %s\n", t - armed, pfn, fo, am
	}
	next
}
# struct page addresses pass 2^53: their low 40 bits differ, the rest is the vmemmap base
function low40(s) { return hex(substr(s, length(s) - 9)) }
$1 == "P" { d = low40($2) - low40($3); if (d < 0) d += 2 ^ 40; v[++nv] = int(d / 64); next }
$1 == "V" { v[++nv] = hex($2); next }
END {
	printf "events %d\n", n
	for (i = 1; i <= nk; i++) printf "  %s: %d\n", keys[i], ev[keys[i]]
	if (!have_v) exit
	for (i = 1; i <= nv; i++) {
		a = v[i] % 512 == 0; al += a; inb = 0
		for (c = 1; c <= nc; c++) if (v[i] >= cb[c] && v[i] < cb[c] + cs[c]) inb = 1
		ic += inb; ica += inb && a
	}
	printf "vmcb01 %d allocations, %d aligned; in claimed blocks %d, %d aligned\n", nv, al, ic, ica
}'
