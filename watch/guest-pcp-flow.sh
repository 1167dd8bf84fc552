#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# watch/guest-pcp-flow.sh STAGE -- a guest hook for `snpsafe watch`
# (SNPSAFE_WATCH_GUEST_HOOK, watch/run.sh) that measures how the page
# allocator's per-CPU lists move pages while the workload runs: at the
# stage "loaded" it arms hist triggers on the kmem tracepoints, at "done"
# it prints them to the console with the prefix "snpsafe-pcp-flow:".
#
#   mm_page_alloc            order-0 allocations by CPU and migratetype;
#                            every order>0 allocation by stack
#   mm_page_alloc_zone_locked  pages taken from the buddy lists, by CPU,
#                            migratetype and whether for a pcp refill
#   mm_page_pcpu_drain       pages given back from a pcp list, by CPU and
#                            migratetype, and by stack (what started it)
#   mm_page_free             order>0 frees by stack
#
# and samples each CPU's DMA32 pcp count and high twice a second.  What it
# found is docs/WATCH.md "The model's per-CPU lists against the kernel's".
T=/sys/kernel/tracing
E=$T/events/kmem
say() { echo "snpsafe-pcp-flow: $*"; }
arm() {	# arm EVENT TRIGGER: a refusal is said, not fatal
	echo "$2" >> "$E/$1/trigger" || say "refused: $1: $2"
}
case "$1" in
loaded)
	K=common_stacktrace
	grep -q common_stacktrace "$E/mm_page_alloc/format" 2> /dev/null || K=stacktrace
	arm mm_page_alloc 'hist:keys=common_cpu,migratetype:vals=hitcount:size=256 if order == 0'
	arm mm_page_alloc "hist:keys=$K,order,migratetype:vals=hitcount:size=4096 if order > 0"
	arm mm_page_alloc_zone_locked 'hist:keys=common_cpu,migratetype,percpu_refill:vals=hitcount:size=256 if order == 0'
	arm mm_page_pcpu_drain 'hist:keys=common_cpu,migratetype:vals=hitcount:size=256 if order == 0'
	arm mm_page_pcpu_drain "hist:keys=$K,migratetype:vals=hitcount:size=4096"
	arm mm_page_free "hist:keys=$K,order:vals=hitcount:size=4096 if order > 0"
	(
		while :; do
			say "pcp $(cut -d' ' -f1 /proc/uptime) $(awk '/zone +DMA32/ { z = 1 } /zone +(Normal|Movable)/ { z = 0 } z && /^ +(count|high):/ { printf "%s %s ", $1, $2 }' /proc/zoneinfo)"
			sleep 0.5
		done
	) &
	echo $! > /tmp/pcp-flow.pid
	say "armed at $(cut -d' ' -f1 /proc/uptime)"
	;;
done)
	[ -f /tmp/pcp-flow.pid ] && kill "$(cat /tmp/pcp-flow.pid)"
	say "done at $(cut -d' ' -f1 /proc/uptime)"
	for ev in mm_page_alloc mm_page_alloc_zone_locked mm_page_pcpu_drain mm_page_free; do
		sed "s/^/snpsafe-pcp-flow: $ev: /" "$E/$ev/hist"
	done
	;;
esac
exit 0
