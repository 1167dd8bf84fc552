#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# watch/guest-extfrag.sh STAGE -- a guest hook for `snpsafe watch`
# (SNPSAFE_WATCH_GUEST_HOOK, watch/run.sh) that records every migratetype
# fallback the page allocator makes while the workload runs: at the stage
# "loaded" it enables kmem/mm_page_alloc_extfrag in a trace instance of its
# own, at "done" it prints the records to the console with the prefix
# "snpsafe-extfrag:".
#
# In Debian's 6.12.95 the event fires once for each block __rmqueue_claim()
# claims (try_to_steal_block() took the pageblock for the request's type:
# change_ownership=1) and once for each block __rmqueue_steal() takes
# without its pageblock (mm/page_alloc.c); in 6.1 once for each block
# __rmqueue_fallback() moves.  pfn is the page handed back.
#
# If the guest's root has /next-hook (SNPSAFE_WATCH_EXTRA_FILE, e.g.
# watch/guest-pbdump.sh as next-hook), it runs after this hook at every
# stage, so what it does at "loaded" is recorded too.
T=/sys/kernel/tracing
I=$T/instances/snpsafe-extfrag
say() { echo "snpsafe-extfrag: $*"; }
case "$1" in
loaded)
	if mkdir "$I" 2> /dev/null; then
		# A small buffer: the instance's pages are UNMOVABLE, taken here,
		# and 4 MiB a CPU (2,048 pages) was more than a fresh boot's free
		# UNMOVABLE pages: it made claims of its own.  A boot's events are
		# a few dozen ("lost" says if they were not).
		echo 16 > "$I/buffer_size_kb"
		echo 1 > "$I/events/kmem/mm_page_alloc_extfrag/enable" ||
			say "refused: kmem/mm_page_alloc_extfrag"
		say "armed at $(cut -d' ' -f1 /proc/uptime)"
	else
		say "no trace instance"
	fi
	;;
done)
	if [ -d "$I" ]; then
		echo 0 > "$I/tracing_on"
		say "done at $(cut -d' ' -f1 /proc/uptime)"
		say "lost $(awk '/overrun/ { n += $2 } END { print n + 0 }' "$I"/per_cpu/cpu*/stats)"
		grep -v '^#' "$I/trace" | sed 's/^/snpsafe-extfrag: /'
	fi
	;;
esac
if [ -x /next-hook ]; then
	/next-hook "$1"
	say "next-hook $1 ended at $(cut -d' ' -f1 /proc/uptime)"
fi
exit 0
