#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# watch/boot-state-report.sh FILE -- the figures docs/MODEL.md "Boot state:
# the kernel's own memory" takes from a watched boot: FILE is the boot's
# console (OUT/console.txt of `snpsafe watch` run with
# SNPSAFE_WATCH_GUEST_HOOK=watch/guest-boot-state.sh) or the lines
# "snpsafe-bootstate: ..." alone (docs/data/boot-state-*/).  For the last
# zone that has pcp lists (DMA32 on a 1 GiB guest) it prints, one "key
# value" a line:
#   blocks_unmovable  UNMOVABLE pageblocks (/proc/pagetypeinfo)
#   pcp_pages         pages on that zone's per-CPU lists (/proc/zoneinfo)
#   pcp_high          the first CPU's high
#   free_unmovable    pages in free UNMOVABLE buddy blocks
#   vmemmap_blocks    the sparse vmemmap's pageblocks: one a 128 MiB section,
#                     the pageblocks of every zone over 64 (memblock's,
#                     UNMOVABLE, kvm_boot_reservations())
#   freed             free_unmovable: KVM_BOOT_FREED_PAGES_*
#   slab_pages        pages in slabs of 1, 2, 4 and 8 pages (/proc/slabinfo),
#                     the kept pages' orders 1..3 of boot_order_permille
#                     (src/kvm/boot_state.c)
# (The kept pages are not this report's: /proc/zoneinfo's per-CPU lists hold
# MOVABLE pages too, which MOVABLE pageblocks hold; watch/boot-dump-report.sh
# counts the UNMOVABLE pageblocks' pages in use page by page.)
#   meminfo_pages     SUnreclaim + PageTables + VmallocUsed + Percpu, pages
#   tracebuf_pages    the trace buffers (buffer_size_kb per CPU), pages
#   reclaimable       SReclaimable, pages: KVM_BOOT_RECLAIMABLE_PAGES_*
#   blocks_reclaimable  RECLAIMABLE pageblocks of that zone
set -u
[ $# -eq 1 ] && [ -r "$1" ] || { echo "usage: boot-state-report.sh CONSOLE" >&2; exit 2; }
tr -d '\r' < "$1" | sed -n 's/^.*snpsafe-bootstate: //p' | awk '
function fail(m) { print "boot-state-report: " m > "/dev/stderr"; bad = 1; exit 2 }
$1 == "pti" && $2 == "Node" && $4 == "zone" && $6 == "type" && $7 == "Unmovable" {
	zone = $5; sub(/,$/, "", zone); f = 0
	for (o = 0; o <= 10; o++) f += $(8 + o) * 2 ^ o
	free_unmov[zone] = f; next
}
$1 == "pti" && $2 == "Node" && $4 == "zone" && NF == 10 {   # Number of blocks type
	zones[++nz] = $5; blocks[$5] = $6; mblocks[$5] = $7; rblocks[$5] = $8; hblocks[$5] = $9 + $10; next
}
$1 == "pcp" && $2 == "count:" { cnt[++nc] = $3; next }
$1 == "pcp" && $2 == "high:" { hi[++nh] = $3; next }
$1 == "slab" { slab[$4] += $4 * $5; slab_all += $4 * $5; next }
$1 == "meminfo" && ($2 == "SUnreclaim:" || $2 == "PageTables:" || $2 == "VmallocUsed:" || $2 == "Percpu:") {
	mem_kb += $3; next
}
$1 == "buf" { buf_kb += $3; next }
$1 == "meminfo" && $2 == "SReclaimable:" { recl_kb = $3; next }
END {
	if (bad) exit 2
	if (!nz || !nc) fail("no pagetypeinfo or zoneinfo lines")
	# zoneinfo lists the pcp lists of the zones with memory, in pagetypeinfo order
	cpus = nc / nz
	if (cpus != int(cpus)) fail("pcp lines do not divide among the zones")
	z = zones[nz]; pcp = 0
	for (i = (nz - 1) * cpus + 1; i <= nz * cpus; i++) pcp += cnt[i]
	for (i = 1; i <= nz; i++) all_blocks += blocks[zones[i]] + mblocks[zones[i]] + rblocks[zones[i]] + hblocks[zones[i]]
	vmemmap = int((all_blocks + 63) / 64)
	printf "zone %s\nblocks_unmovable %d\npcp_pages %d\npcp_high %d\nfree_unmovable %d\n", \
		z, blocks[z], pcp, hi[(nz - 1) * cpus + 1], free_unmov[z]
	printf "vmemmap_blocks %d\nfreed %d\n", vmemmap, free_unmov[z]
	printf "slab_pages %d %d %d %d\n", slab[1], slab[2], slab[4], slab[8]
	printf "meminfo_pages %d\ntracebuf_pages %d\n", mem_kb / 4, buf_kb * cpus / 4
	printf "reclaimable %d\nblocks_reclaimable %d\n", recl_kb / 4, rblocks[z]
}'
