#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# kernel/guest-measure.sh STAGE -- run inside the watched guest by
# watch/init.sh (SNPSAFE_WATCH_GUEST_HOOK) at three stages; prints lines
# "snpsafe-measure: ..." that kernel/measure.sh reads from the console.
#
#   pre     before kvm_amd loads: /proc/buddyinfo, /proc/pagetypeinfo
#   loaded  kvm_amd loaded, no VM yet: /fragment first when the initramfs
#           has one (kernel/fragment.c), then /proc/vmstat, and the function graph
#           tracer on snp_safe_alloc_page_node (depth 1: one line per call
#           with its duration, children included), the same way for every
#           kernel and module
#   done    the workload is over: the calls' durations (count, mean,
#           median, p90, in ns), events the trace buffer lost, the /proc/vmstat
#           deltas, the kvm_amd pool lines (debugfs) before and after the
#           shrinkers ran (drop_caches=2).  watch/init.sh then unloads kvm_amd
#           and kvm and reads the free pages into OUT/alloc.log.
T=/sys/kernel/tracing
D=/sys/kernel/debug
say() { echo "snpsafe-measure: $*"; }
vmstat_keys="compact_stall compact_fail compact_success pgalloc_dma32 pgalloc_normal oom_kill allocstall_normal"

case $1 in
pre)
	mount -t debugfs nodev $D 2>/dev/null
	mount -t tracefs nodev $T 2>/dev/null
	sed 's/^/snpsafe-measure: buddyinfo: /' /proc/buddyinfo
	grep -E '^Node +[0-9]+, zone +(DMA32|Normal), type' /proc/pagetypeinfo |
		sed 's/^/snpsafe-measure: pagetypeinfo: /'
	;;
loaded)
	# /fragment (kernel/fragment.c), when the initramfs has it: the
	# allocator left with no free block of order >= 1 before any VM, held
	# until "done".
	if [ -x /fragment ]; then
		/fragment /tmp/fragment.ready > /tmp/fragment.out 2>&1 &
		echo $! > /tmp/fragment.pid
		i=0
		while [ ! -f /tmp/fragment.ready ] && [ $i -lt 600 ] && kill -0 $(cat /tmp/fragment.pid) 2>/dev/null; do
			sleep 1; i=$((i + 1))
		done
		sed 's/^/snpsafe-measure: fragment: /' /tmp/fragment.out
		[ -f /tmp/fragment.ready ] && say "fragmented" || say "fragment failed"
		sed 's/^/snpsafe-measure: buddyinfo-fragmented: /' /proc/buddyinfo
		grep -E '^Node +[0-9]+, zone +(DMA|DMA32|Normal), type' /proc/pagetypeinfo |
			sed 's/^/snpsafe-measure: pagetypeinfo-fragmented: /'
	fi
	for k in $vmstat_keys; do awk -v k=$k '$1 == k { print $2 }' /proc/vmstat; done > /tmp/vmstat.before
	echo 0 > $T/tracing_on
	echo 16384 > $T/buffer_size_kb
	# The timed calls must hold nothing but themselves: init.sh's kprobes
	# inside them (the function's own, split_page) are turned off; its
	# svm_vcpu_create probe fires before the call and stays.  The page
	# allocations inside each call are read from kmem:mm_page_alloc, one
	# event per allocation in every kernel alike.
	for p in snp_safe_alloc_page_node split_page; do
		echo 0 > $T/events/kprobes/snpsafe_$p/enable 2>/dev/null
	done
	# So are watch's provenance probes (init.sh), on the allocator and on
	# the page allocator's returns: this run's provenance is not recorded.
	echo 0 > $T/instances/snpprov/events/snpprov/enable 2>/dev/null
	if echo snp_safe_alloc_page_node > $T/set_graph_function 2>/dev/null; then
		echo 1 > $T/max_graph_depth
		echo 1 > $T/options/funcgraph-proc
		echo function_graph > $T/current_tracer
		echo 1 > $T/events/kmem/mm_page_alloc/enable
		echo > $T/trace
		echo 1 > $T/tracing_on
		say "graph on"
	else
		say "graph unavailable: no snp_safe_alloc_page_node in this kernel"
	fi
	;;
done)
	echo 0 > $T/tracing_on
	if [ -f /tmp/fragment.pid ]; then
		kill $(cat /tmp/fragment.pid) 2>/dev/null && say "fragment holder ended" ||
			say "fragment holder was gone (OOM-killed?)"
	fi
	lost=0
	for s in $T/per_cpu/cpu*/stats; do
		n=$(awk '/^overrun:/ { print $2 }' $s)
		lost=$((lost + ${n:-0}))
	done
	# Per call, keyed by the task (funcgraph-proc, so a call that sleeps
	# or moves to another CPU keeps its own events):
	# " C)  comm-pid  |  snp_safe_alloc_page_node [kvm_amd]() {", that
	# task's mm_page_alloc events, then " C)  comm-pid  + 24.437 us | }".
	# Out, per call: "ns pages order1 aligned", aligned being how many of
	# the pages taken had a 2MB-aligned pfn (parked, or freed by upstream).
	grep -v '^#' $T/trace | awk '
		{ c = $2 }
		/snp_safe_alloc_page_node.*\{ *$/ { open[c] = 1; pages[c] = 0; o1[c] = 0; al[c] = 0; next }
		/snp_safe_alloc_page_node.*\(\); *$/ { n = split($0, w, /[ |]+/)
			for (i = 1; i < n; i++) if (w[i + 1] == "us") print int(w[i] * 1000 + 0.5), 0, 0, 0
			next }
		open[c] && /mm_page_alloc:/ {
			o = $0; sub(/.*order=/, "", o); o = o + 0
			f = $0; sub(/.* pfn=/, "", f); sub(/ .*/, "", f)
			n = 1; for (i = 0; i < o; i++) n *= 2
			pages[c] += n; if (o == 1) o1[c]++
			if (f ~ /^0x/) { v = 0; h = substr(f, 3)
				for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
				if (v % 512 == 0) al[c]++ }
			next }
		open[c] && /\}/ {
			n = split($0, w, /[ |]+/); d = ""; u = ""
			for (i = 1; i < n; i++) if (w[i + 1] == "us" || w[i + 1] == "ms") { d = w[i]; u = w[i + 1] }
			if (d != "") print int((u == "ms" ? d * 1000000 : d * 1000) + 0.5), pages[c], o1[c], al[c]
			open[c] = 0 }' > /tmp/calls
	sort -n /tmp/calls > /tmp/durations
	awk -v lost=$lost '{ a[NR] = $1; s += $1; pg += $2; o1 += $3; al += $4 }
		END { if (NR == 0) { print "snpsafe-measure: graph calls=0 lost=" lost; exit }
			printf "snpsafe-measure: graph calls=%d mean_ns=%d median_ns=%d p90_ns=%d pages=%d order1=%d aligned_taken=%d lost=%d\n",
				NR, s / NR, a[int((NR + 1) / 2)], a[int(NR * 0.9) > 0 ? int(NR * 0.9) : 1], pg, o1, al, lost }' /tmp/durations
	echo 0 > $T/events/kmem/mm_page_alloc/enable
	echo nop > $T/current_tracer
	i=0
	for k in $vmstat_keys; do
		i=$((i + 1))
		b=$(sed -n "${i}p" /tmp/vmstat.before)
		a=$(awk -v k=$k '$1 == k { print $2 }' /proc/vmstat)
		say "vmstat $k $(( ${a:-0} - ${b:-0} ))"
	done
	if [ -r $D/kvm_amd/snp_safe_pages ]; then
		sed 's/^/snpsafe-measure: pool /' $D/kvm_amd/snp_safe_pages
		# The shrinkers run on drop_caches=2 (slab): the pool must empty.
		echo 2 > /proc/sys/vm/drop_caches
		sed 's/^/snpsafe-measure: pool-after-shrink /' $D/kvm_amd/snp_safe_pages
	else
		say "pool none"
	fi
	;;
esac
