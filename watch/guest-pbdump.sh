#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# watch/guest-pbdump.sh STAGE -- a guest hook for `snpsafe watch`
# (SNPSAFE_WATCH_GUEST_HOOK, watch/run.sh) that, at the stage "loaded"
# (kvm and kvm_amd loaded, the workload not yet started), loads the
# diagnostic module watch/pbdump (given as /pbdump.ko by
# SNPSAFE_WATCH_EXTRA_FILE) over all of RAM and copies its lines to the
# console, where watch/boot-dump.sh finds them (docs/MODEL.md "Boot state
# from a dump").  Other stages: nothing.
[ "$1" = loaded ] || exit 0
end=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
# end_pfn: past the last RAM page of a host below 4 GiB; pbdump skips pfns
# without a struct page (pfn_valid()).
end=$(( (end / 4 + 65535) / 65536 * 65536 ))
# Its init fails on purpose (nothing stays loaded), so insmod complains.
insmod /pbdump.ko end_pfn=$end 2> /dev/null
# dmesg's lines: "pbdump PFN ...", after a timestamp or not (printk.time)
dmesg | grep -E '(^|[] ])pbdump [0-9a-f]+ mt ' > /tmp/pbdump
echo "snpsafe-pbdump: # end_pfn $end: $(grep -c . /tmp/pbdump) pageblocks"
sed 's/^.*pbdump /snpsafe-pbdump: /' /tmp/pbdump
