#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# watch/boot-dump-report.sh DUMP... -- the kernel's own UNMOVABLE memory at
# kvm_amd's load, counted page by page in boot dumps (watch/boot-dump.sh's,
# of one kernel's boots): docs/MODEL.md "Boot state: the kernel's own
# memory".  Above ZONE_DMA (pfn 0x1000 on), over the UNMOVABLE pageblocks:
#   in_use    pages neither in a buddy block nor free off the buddy lists
#             (watch/pbdump's "pcp": on a per-CPU list, or the second
#             pageblock of a free order-10 block): the kernel's allocations
#             and memblock's reservations, the vmemmap's included.
#             KVM_BOOT_UNMOVABLE_IN_USE_* (include/snpsafe/kvm.h) is the
#             mean, rounded, over docs/data/boot-dump-2026-12-07.  (Dumps
#             made before watch/pbdump walked the per-CPU lists count the
#             tails of allocations made without __GFP_COMP as "pcp": about
#             300 pages a boot too few here.)
#   buddy     free pages in buddy blocks
#   pcp       free pages off the buddy lists
#   blocks    the pageblocks
# One line "DUMP in_use N buddy N pcp N blocks N" a dump, then "mean KEY
# VALUE" for each key and "sd in_use VALUE" (population standard deviation).
set -u
[ $# -ge 1 ] || { echo "usage: boot-dump-report.sh DUMP..." >&2; exit 2; }
for f in "$@"; do
	[ -r "$f" ] || { echo "boot-dump-report: $f: no such file" >&2; exit 2; }
done
awk '
function fail(m) { print "boot-dump-report: " FILENAME ":" FNR ": " m > "/dev/stderr"; bad = 1; exit 2 }
function hex(s,   v, i, c) {
	v = 0; s = tolower(s)
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", substr(s, i, 1))
		if (!c) return -1
		v = v * 16 + c - 1
	}
	return v
}
function flush() {
	if (!blocks_seen) fail("no pageblock line: not a boot dump")
	printf "%s in_use %d buddy %d pcp %d blocks %d\n", file, use, bud, pcp, nb
	n++; s_use += use; s2_use += use * use; s_bud += bud; s_pcp += pcp; s_nb += nb
}
FNR == 1 {
	if (NR > 1) flush()
	file = FILENAME; use = bud = pcp = nb = blocks_seen = 0
}
/^#/ || /^4k / || /^aged / || NF == 0 { next }
{ sub(/^snpsafe-pbdump: /, "") }
$2 != "mt" || $4 != "buddy" || $6 != "pcp" { fail("not a pageblock line: " $0) }
{
	pfn = hex($1)
	if (pfn < 0 || pfn % 512) fail("bad pfn " $1)
	if ($5 !~ /^[0-9]+$/ || $7 !~ /^[0-9]+$/ || $5 + $7 > 512) fail("bad counts: " $0)
	blocks_seen = 1
	if (pfn < 4096 || $3 != 0) next   # ZONE_DMA, or not UNMOVABLE
	use += 512 - $5 - $7; bud += $5; pcp += $7; nb++
}
END {
	if (bad) exit 2
	if (NR == 0) { print "boot-dump-report: empty input" > "/dev/stderr"; exit 2 }
	flush()
	m = s_use / n
	printf "mean in_use %d\nmean buddy %d\nmean pcp %d\nmean blocks %.1f\n", \
		int(m + 0.5), int(s_bud / n + 0.5), int(s_pcp / n + 0.5), s_nb / n
	v = s2_use / n - m * m
	printf "sd in_use %.1f\n", (v > 0 ? sqrt(v) : 0)
}' "$@"
