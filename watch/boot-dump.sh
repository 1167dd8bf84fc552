#!/bin/sh
# SPDX-License-Identifier: MIT
#
# watch/boot-dump.sh OUT -- a boot dump for `snpsafe simulate --boot-dump`
# (docs/MODEL.md "Boot state from a dump") from a `snpsafe watch` run folder
# whose boot ran the hook watch/guest-pbdump.sh:
#
#   SNPSAFE_WATCH_EXTRA_FILE=PBDUMP.ko:pbdump.ko \
#   SNPSAFE_WATCH_GUEST_HOOK=watch/guest-pbdump.sh snpsafe watch --out OUT ...
#
# (PBDUMP.ko: watch/pbdump built against the watched kernel's headers).
# Prints, on stdout: the boot's pageblocks at the workload's start, one line
# each as watch/pbdump printed it (OUT/console.log), then "4k R" for each 2MB
# region R the plugin found mapped 4K in the direct map at the first VMRUN
# (OUT/qemu.out's "directmap region R ... 4K:" lines), and "aged N" when the
# boot was aged first by N rounds (OUT/result's age_rounds).
set -eu
die() { echo "boot-dump: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: boot-dump.sh OUT (a watch run folder)"
out=$1
[ -r "$out/console.log" ] || die "$out/console.log: no such file (a watch run folder?)"
[ -r "$out/qemu.out" ] || die "$out/qemu.out: no such file (a watch run folder?)"
n=$(grep -c '^snpsafe-pbdump: [0-9a-f]* mt ' "$out/console.log" || true)
[ "$n" -gt 0 ] || die "$out/console.log has no pageblock line: was the boot run with watch/guest-pbdump.sh?"
k=$(grep -c '^snpsafe plugin: directmap region [0-9]* pa 0x[0-9a-f]* 4K:' "$out/qemu.out" || true)
[ "$k" -gt 0 ] || die "$out/qemu.out has no 4K region line (the plugin's first-VMRUN dump)"
echo "# snpsafe boot dump of $out: watch/pbdump's pageblocks at the stage \"loaded\","
echo "# $k 4K direct-map regions at the first VMRUN (the plugin); watch/boot-dump.sh"
# busybox's insmod loads a module whose init fails twice (finit_module, then
# init_module): the console has two dumps a moment apart, and when the kernel's
# log buffer could not hold both (an aged boot prints many maps) the first
# one's head is gone.  The first dump whole, from pfn 0 on, is taken.
awk '/^snpsafe-pbdump: [0-9a-f]+ mt / {
	if ($2 == "0") { if (whole) exit; whole = 1 }
	if (!whole) next
	sub(/^snpsafe-pbdump: /, ""); sub(/\r$/, ""); print
}' "$out/console.log"
# an aged boot (watch --age-rounds): the dump holds its ageing
sed -n 's/^age_rounds=\([1-9][0-9]*\)$/aged \1/p' "$out/result" 2> /dev/null || true
sed -n 's/^snpsafe plugin: directmap region \([0-9]*\) pa 0x[0-9a-f]* 4K:.*$/4k \1/p' "$out/qemu.out"
