#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_boot_state_data.sh -- the kernel's own memory a qemu-pc host
# boots with (docs/MODEL.md "Boot state: the kernel's own memory") is the
# committed measurement's: watch/boot-state-report.sh of each kernel's
# docs/data/boot-state-2026-12-06/KERNEL-loaded.txt (the lines
# watch/guest-boot-state.sh printed in a watched 1 GiB boot) gives
# KVM_BOOT_KERNEL_PAGES_*, KVM_BOOT_FREED_PAGES_* and KVM_BOOT_LATE_PAGES_* of
# include/snpsafe/kvm.h,
# and the 6.12 boot's orders give boot_order_permille of src/kvm/boot_state.c.
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
echo "1..7"
check "6.12 kept pages" "$(report 6.12 kept)" "$(const KVM_BOOT_KERNEL_PAGES_612)"
check "6.12 freed pages" "$(report 6.12 freed)" "$(const KVM_BOOT_FREED_PAGES_612)"
check "6.1 kept pages" "$(report 6.1 kept)" "$(const KVM_BOOT_KERNEL_PAGES_61)"
check "6.1 freed pages" "$(report 6.1 freed)" "$(const KVM_BOOT_FREED_PAGES_61)"
check "6.12 trace buffer pages" "$(report 6.12 tracebuf_pages)" "$(const KVM_BOOT_LATE_PAGES_612)"
check "6.1 trace buffer pages" "$(report 6.1 tracebuf_pages)" "$(const KVM_BOOT_LATE_PAGES_61)"
check "6.12 orders per mille" "$(report 6.12 order_permille)" \
	"$(sed -n 's/^static const unsigned int boot_order_permille\[\] = { \(.*\) };$/\1/p' \
		"$root/src/kvm/boot_state.c" | tr -d ,)"
echo "# boot_state_data: pass:$passed fail:$failed skip:0 total:$n"
echo "# totals: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
