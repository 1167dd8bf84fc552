#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_boot_state_data.sh -- the kernel's own memory a qemu-pc host
# boots with (docs/MODEL.md "Boot state: the kernel's own memory") is the
# committed measurements': watch/boot-dump-report.sh of the dumped boots
# (docs/data/boot-dump-2026-12-07/KERNEL-*.dump, watch/pbdump walking the
# per-CPU lists) gives
# KVM_BOOT_UNMOVABLE_IN_USE_* of include/snpsafe/kvm.h (the model's own count
# of them is tests/test_boot_state.c's), and refuses what is not a dump;
# watch/boot-state-report.sh of each kernel's
# docs/data/boot-state-2026-12-06/KERNEL-loaded.txt (the lines
# watch/guest-boot-state.sh printed in a watched 1 GiB boot) gives
# KVM_BOOT_FREED_PAGES_* and KVM_BOOT_LATE_PAGES_*, and the 6.12 boot's slab
# pages over KVM_BOOT_KERNEL_PAGES_612 give boot_order_permille of
# src/kvm/boot_state.c;
# the campaign boots' module pages (module-pages.txt, the plugin's
# first-VMRUN dump) give KVM_BOOT_MODULE_PAGES_* (the most common count) and
# KVM_BOOT_MODULE_RO_PAGES_* (executable and read-only, every boot).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/docs/data/boot-state-2026-12-06
hdr=$root/include/snpsafe/kvm.h
const() { sed -n "s/^#define $1 *\([0-9]*\)ULL$/\1/p" "$hdr"; }
report() { bash "$root/watch/boot-state-report.sh" "$data/$1-loaded.txt" | sed -n "s/^$2 //p"; }
n=0 passed=0 failed=0
check() {   # NAME GOT WANT
	n=$((n + 1))
	if [ -n "$3" ] && [ "$2" = "$3" ]; then
		echo "ok $n $1"; passed=$((passed + 1))
	else
		echo "# data: '$2', source: '$3'"
		echo "not ok $n $1"; failed=$((failed + 1))
	fi
}
echo "KTAP version 1"
echo "1..15"
dumps() {   # KERNEL KEY: boot-dump-report.sh's "mean KEY" over KERNEL's dumped boots
	bash "$root/watch/boot-dump-report.sh" "$root"/docs/data/boot-dump-2026-12-07/"$1"-[0-9]*.dump |
		sed -n "s/^mean $2 //p"
}
check "6.12 UNMOVABLE pages in use (dumps)" "$(dumps 6.12 in_use)" "$(const KVM_BOOT_UNMOVABLE_IN_USE_612)"
check "6.1 UNMOVABLE pages in use (dumps)" "$(dumps 6.1 in_use)" "$(const KVM_BOOT_UNMOVABLE_IN_USE_61)"
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
# an UNMOVABLE pageblock above ZONE_DMA counts; ZONE_DMA's and MOVABLE ones do not
printf '# made up\n0 mt 0 buddy 0 pcp 0\n1000 mt 0 buddy 100 pcp 12\n1200 mt 1 buddy 0 pcp 0\n4k 3\n' \
	> "$tmp/a.dump"
printf 'snpsafe-pbdump: 1000 mt 0 buddy 0 pcp 512\n' > "$tmp/b.dump"
check "a made-up dump counted" \
	"$(bash "$root/watch/boot-dump-report.sh" "$tmp/a.dump" "$tmp/b.dump" | tr '\n' ' ')" \
	"$tmp/a.dump in_use 400 buddy 100 pcp 12 blocks 1 $tmp/b.dump in_use 0 buddy 0 pcp 512 blocks 1 mean in_use 200 mean buddy 50 mean pcp 262 mean blocks 1.0 sd in_use 200.0 "
printf '1000 mt 0 buddy 500 pcp 13\n' > "$tmp/c.dump"
bad=0
for f in "$tmp/c.dump" /dev/null; do
	bash "$root/watch/boot-dump-report.sh" "$f" > /dev/null 2>&1 && bad=1
done
check "a pageblock of more than 512 free pages, or no pageblock, refused" "$bad" 0
check "6.12 freed pages" "$(report 6.12 freed)" "$(const KVM_BOOT_FREED_PAGES_612)"
check "6.1 freed pages" "$(report 6.1 freed)" "$(const KVM_BOOT_FREED_PAGES_61)"
check "6.12 reclaimable pages" "$(report 6.12 reclaimable)" "$(const KVM_BOOT_RECLAIMABLE_PAGES_612)"
check "6.1 reclaimable pages" "$(report 6.1 reclaimable)" "$(const KVM_BOOT_RECLAIMABLE_PAGES_61)"
check "6.12 trace buffer pages" "$(report 6.12 tracebuf_pages)" "$(const KVM_BOOT_LATE_PAGES_612)"
check "6.1 trace buffer pages" "$(report 6.1 tracebuf_pages)" "$(const KVM_BOOT_LATE_PAGES_61)"
permille() {   # the pages in slabs of 2, 4 and 8 pages over the kept pages: orders 0..3 per mille
	report 6.12 slab_pages | awk -v kept="$(const KVM_BOOT_KERNEL_PAGES_612)" '{
		o1 = int($2 * 1000 / kept + 0.5); o2 = int($3 * 1000 / kept + 0.5); o3 = int($4 * 1000 / kept + 0.5)
		print 1000 - o1 - o2 - o3, o1, o2, o3 }'
}
check "6.12 orders per mille" "$(permille)" \
	"$(sed -n 's/^static const unsigned int boot_order_permille\[\] = { \(.*\) };$/\1/p' \
		"$root/src/kvm/boot_state.c" | tr -d ,)"
modules() {   # KERNEL FIELD: the most common value of a module-pages.txt field among KERNEL's boots
	awk -v k="$1-" -v f="$2" '!/^#/ && index($1, k) == 1 { c[f == "ro_x" ? $3 + $4 : $2]++ }
		END { for (v in c) if (c[v] > best) { best = c[v]; most = v } print most }' \
		"$data/module-pages.txt"
}
ro_x_everywhere() {   # KERNEL: the one read-only-or-executable count of all its boots, or nothing
	awk -v k="$1-" '!/^#/ && index($1, k) == 1 { c[$3 + $4]++ }
		END { n = 0; for (v in c) { n++; one = v } if (n == 1) print one }' "$data/module-pages.txt"
}
check "6.12 module pages" "$(modules 6.12 pages)" "$(const KVM_BOOT_MODULE_PAGES_612)"
check "6.1 module pages" "$(modules 6.1 pages)" "$(const KVM_BOOT_MODULE_PAGES_61)"
check "6.12 read-only module pages, every boot" "$(ro_x_everywhere 6.12)" "$(const KVM_BOOT_MODULE_RO_PAGES_612)"
check "6.1 read-only module pages, every boot" "$(ro_x_everywhere 6.1)" "$(const KVM_BOOT_MODULE_RO_PAGES_61)"
echo "# boot_state_data: pass:$passed fail:$failed skip:0 total:$n"
echo "# totals: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
