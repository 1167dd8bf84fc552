#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# watch/guest-boot-state.sh STAGE -- a guest hook for `snpsafe watch`
# (SNPSAFE_WATCH_GUEST_HOOK=watch/guest-boot-state.sh, watch/run.sh): the
# page allocator's state when the workload starts, as lines
# "snpsafe-bootstate: ..." on the console that watch/boot-state-report.py
# reads (docs/MODEL.md "Boot state: the kernel's own memory").
#
#   loaded  kvm and kvm_amd loaded, no VM yet: every slab cache (name,
#           objects, pages per slab, slabs), /proc/meminfo, the pageblock
#           counts and free blocks of /proc/pagetypeinfo, each pcp's count,
#           high and batch from /proc/zoneinfo, the trace buffers' sizes
#   pre, done  nothing
T=/sys/kernel/tracing
out() { sed "s/^/snpsafe-bootstate: $1/" > /dev/console; }

[ "$1" = loaded ] || exit 0
awk 'NR > 2 { print $1, $3, $6, $15 }' /proc/slabinfo | out "slab "
out "meminfo " < /proc/meminfo
grep -E '^Node' /proc/pagetypeinfo | out "pti "
grep -E '^ +(count|high|batch):' /proc/zoneinfo | out "pcp "
for f in $T/buffer_size_kb $T/instances/*/buffer_size_kb; do
	[ -r "$f" ] && echo "$f $(cat "$f")"
done | out "buf "
