#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# /init of the watched kernel's initramfs (watch/run.sh builds it): arm the
# provenance probes, load kvm_amd and what it needs, run the workload, print
# the kernel's text module symbols on the second serial port for the symbol
# pass, send the allocation log on the third, unload kvm_amd, power off.
# Everything for the host on the console starts with "snpsafe-watch:".
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp

say() { echo "snpsafe-watch: $*" > /dev/console; }
say "start $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
T=/sys/kernel/tracing
mount -t tracefs nodev $T 2>/dev/null
mount -t debugfs nodev /sys/kernel/debug 2>/dev/null

# ---- provenance: who allocated the pages VMRUN uses (docs/WATCH.md "Provenance") ----
# A trace instance of its own, so the counting probes below do not share its buffer.
P=$T/instances/snpprov
POOL=/sys/kernel/debug/kvm_amd/snp_safe_pages
ALLOC_AT=kvm_amd:snp_safe_alloc_page_node

# Probes on the SNP-safe allocator and on the page allocator's entry points,
# armed before any module loads.  kvm_amd's host save areas are allocated by
# its module init (svm_hardware_setup -> svm_cpu_init), so a probe set after
# insmod would miss them; a MOD:SYM probe event on a module that is not
# loaded yet is accepted (kernel/trace/trace_kprobe.c, register_trace_kprobe:
# -ENOENT with no such module is "might be able to register after target
# module is loaded") and registered by its module notifier at
# MODULE_STATE_COMING, before the module's init runs.  The return probe's
# header is the call site (the kretprobe's return address, printed as
# symbol+offset and, with sym-addr, as an address).  The entry probe gives
# node and gfp and counts the calls; $stack0 there would not be the caller:
# the return probe, armed on the same function, has already replaced the
# return address with arch_rethook_trampoline (seen in a 6.12 boot).  The
# page allocator's returns are kept only for callers outside the kernel
# image (modules): the call site of a page that did not come from the
# SNP-safe allocator.
prov_arm() {
	local vb="" etext f kb rest
	mkdir $P 2>/dev/null || { say "prov: no trace instance"; return 1; }
	grep -q ' snp_safe_alloc_page_node$' /proc/kallsyms && ALLOC_AT=snp_safe_alloc_page_node
	grep -q ' vmemmap_base$' /proc/kallsyms && vb=' vmemmap=@vmemmap_base:x64'
	echo "p:snpprov/alloc_in $ALLOC_AT node=%di:s32 gfp=%si:x32" >> $T/kprobe_events ||
		say "prov: entry probe refused"
	echo "r16:snpprov/alloc_ret $ALLOC_AT page=\$retval:x64$vb" >> $T/kprobe_events ||
		say "prov: return probe refused"
	etext=$(awk '$3 == "_etext" { print $1 }' /proc/kallsyms)
	for f in __alloc_pages_noprof alloc_pages_noprof __alloc_pages alloc_pages; do
		grep -qE " [tT] $f\$" /proc/kallsyms || continue
		echo "r64:snpprov/pg_$f $f page=\$retval:x64$vb" >> $T/kprobe_events || continue
		[ -n "$etext" ] && echo "__probe_ret_ip > 0x$etext" > $P/events/snpprov/pg_$f/filter
	done
	echo 2048 > $P/buffer_size_kb
	# The main buffer grows to its full size when the counting probes are
	# enabled, after kvm_amd loads; grow it now, so that the free pages
	# measured before kvm_amd loads and after it unloads both exclude it.
	read kb rest < $T/buffer_size_kb
	case $rest in *expanded:*) kb=${rest#*expanded: }; kb=${kb%)} ;; esac
	echo "$kb" > $T/buffer_size_kb
	echo 1 > $P/options/sym-addr
	echo 1 > $P/events/snpprov/enable || say "prov: probes not enabled"
}

# Free pages (the buddy lists) and pages on the per-CPU lists, all zones,
# after dropping the caches and the slab caches' empty slabs, which would
# otherwise hold pages freed objects left, and after folding each CPU's
# counter deltas into the zone's (zoneinfo prints the zone's counter, which
# lags by up to the vmstat threshold per CPU).  The slab's pages come with
# them: kernel objects left in slabs are the usual reason the free pages
# after the unload differ from those before the load.
# "mem STAGE free_pages N pcp_pages N slab_pages N".
prov_mem() {
	local f
	sync
	echo 3 > /proc/sys/vm/drop_caches 2>/dev/null
	for f in /sys/kernel/slab/*/shrink; do echo 1 > $f; done 2>/dev/null
	echo 1 > /proc/sys/vm/stat_refresh 2>/dev/null
	awk -v s="$1" '$1 == "nr_free_pages" { f += $2 } $1 == "count:" { p += $2 }
		$1 ~ /^nr_slab_(un)?reclaimable(_b)?$/ { b += $2 }
		END { printf "mem %s free_pages %d pcp_pages %d slab_pages %d\n", s, f, p, b }' /proc/zoneinfo
}

# The allocation log's first part, while kvm_amd is loaded (the kernel
# names its call sites only then): the allocator, the probes' hit and miss
# counts, the pool, the trace.
prov_log() {
	echo "snpsafe-alloc 1"
	if grep -qE ' snp_safe_alloc_page_node([[:space:]]|$)' /proc/kallsyms; then
		echo "allocator $ALLOC_AT"
	else
		echo "allocator none"
	fi
	echo "$MEM_BEFORE"
	awk '$1 ~ /^(alloc_in|alloc_ret|pg_)/ { print "probe " $1 " hits " $2 " misses " $3 }' $T/kprobe_profile
	if [ -r $POOL ]; then
		sed 's/^/pool /' $POOL
	else
		echo "pool none"
	fi
	echo "trace-begin"
	cat $P/trace
	echo "trace-end"
}

# The direct map's leaves by size at each stage (arch_report_meminfo: a 2M
# leaf split into 4K moves 2048 kB from DirectMap2M to DirectMap4k), so the
# run shows when a split came: the probes, a module's load, the workload.
directmap() {
	say "directmap $1 $(awk '/^DirectMap/ { sub(/:$/, "", $1); printf "%s_kb=%s ", $1, $2 }' /proc/meminfo)"
}
# /no-probes (SNPSAFE_WATCH_PROBES=0): no tracefs probe at all, neither the
# provenance probes nor the counting ones, to measure what they change.
PROBES=1
[ -f /no-probes ] && PROBES=0
directmap boot
[ $PROBES = 1 ] && prov_arm && directmap probes
hook() { [ -x /hook ] && /hook "$1" > /dev/console 2>&1; }
hook pre
for m in $(cat /modules.order); do
	# --host-snp: before kvm_amd, make the kernel believe the host has SNP.
	if [ "$m" = kvm-amd ] && [ -f /hostsnp.ko ]; then
		addr=$(awk '$3 == "cc_platform_set" { print $1 }' /proc/kallsyms)
		insmod /hostsnp.ko cc_platform_set_addr=0x$addr || say "insmod hostsnp failed"
		dmesg | grep 'snpsafe-hostsnp' | sed 's/^.*snpsafe-hostsnp/snpsafe-hostsnp/' > /dev/console
	fi
	[ "$m" = kvm-amd ] && MEM_BEFORE=$(prov_mem before_load)
	insmod "/lib/modules/$m.ko" || say "insmod $m failed"
	directmap "insmod_$m"
done
# An aged host (watch --age-rounds, docs/WATCH.md "An aged host"): the
# ager (the workload binary in its other mode) makes and partly frees page
# cache on a tmpfs of its own, anonymous memory, slab objects and VMs, then
# holds what it kept while the workload runs.  Before the counting probes
# and the kvm_exit histograms, so those count the workload alone; the
# provenance probes and the plugin see the ageing VMs too.  The free lists
# at its end go to the host (OUT/buddyinfo, OUT/pagetypeinfo).
AGER=""
if [ -s /age.args ] && [ -c /dev/kvm ]; then
	mkdir -p /age
	mount -t tmpfs -o size=90% tmpfs /age
	/workload $(cat /age.args) > /tmp/age.out 2>&1 &
	AGER=$!
	while [ ! -e /age/.ready ] && kill -0 $AGER 2>/dev/null; do sleep 1; done
	sed 's/^/snpsafe-watch: /' /tmp/age.out > /dev/console
	[ -e /age/.ready ] || { say "age: the ager failed"; AGER=""; }
	sed 's/^/snpsafe-watch: buddyinfo: /' /proc/buddyinfo > /dev/console
	sed 's/^/snpsafe-watch: pagetypeinfo: /' /proc/pagetypeinfo > /dev/console
	directmap aged
fi
# An independent count of kvm_amd's allocations, from the kernel's own
# kprobes (tracefs kprobe_profile keeps a hit count per probe).
probes="svm_vcpu_create snp_safe_alloc_page_node split_page"
[ $PROBES = 1 ] || probes=""
for p in $probes; do
	grep -qE " $p([[:space:]]|$)" /proc/kallsyms && echo "p:snpsafe_$p $p" >> $T/kprobe_events 2>/dev/null
done
KX=$T/events/kvm/kvm_exit
if [ $PROBES = 1 ]; then
	echo 1 > $T/events/kprobes/enable 2>/dev/null
	directmap counting_probes
	# Why each #VMEXIT happened, from KVM's own kvm_exit tracepoint, counted in
	# the kernel (a hist trigger keeps no per-event buffer, so a vCPU exiting
	# tens of thousands of times a second loses nothing): per task (one vCPU
	# thread each), the exit code with the guest RIP, and EXITINFO1/2 (for a
	# nested page fault: the error code and the faulting GPA).  Three keys per
	# histogram, the tracing map's limit; ">" on the trigger file would remove
	# the first histogram.  Without probes (SNPSAFE_WATCH_PROBES=0) none:
	# they are the observer too.
	if [ -w $KX/trigger ]; then
		echo 'hist:keys=common_pid,exit_reason,guest_rip:vals=hitcount:sort=hitcount.descending:size=8192' > $KX/trigger ||
			say "kvm_exit: rip histogram refused"
		echo 'hist:keys=common_pid,info1,info2:vals=hitcount:sort=hitcount.descending:size=8192' >> $KX/trigger ||
			say "kvm_exit: info histogram refused"
	else
		say "kvm_exit: no tracepoint"
	fi
fi
if [ -c /dev/kvm ]; then
	say "meminfo total_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) free_kb=$(awk '/^MemFree:/ { print $2 }' /proc/meminfo)"
	hook loaded
	/workload $(cat /workload.args) > /tmp/workload.out 2>&1
	rc=$?
	# The aged host's memory back, so the free pages after kvm_amd's unload
	# compare with those before its load (prov_mem).
	if [ -n "$AGER" ]; then
		kill $AGER
		wait $AGER 2>/dev/null
		umount /age
	fi
	hook done
	directmap workload_done
	sed 's/^/snpsafe-watch: /' /tmp/workload.out > /dev/console
	say "workload exit $rc"
	awk '$1 ~ /^snpsafe_/ { sub(/^snpsafe_/, "", $1); print "snpsafe-watch: kprobe " $1 " " $2 }' \
		$T/kprobe_profile > /dev/console 2>/dev/null
	rm -f /tmp/workload.out
	# The histograms, before kvm goes (its events go with it).
	[ -r $KX/hist ] && grep -E '^\{|^Totals|Hits|Entries|Dropped' $KX/hist |
		sed 's/^/snpsafe-watch: kvm_exit: /' > /dev/console
else
	say "no /dev/kvm: kvm_amd did not load"
	dmesg | tail -n 20 | sed 's/^/snpsafe-watch: dmesg: /' > /dev/console
fi
# Text symbols, gzipped through a raw tty (a serial port under TCG moves
# about 100 KB/s); only the modules' when the host has a real System.map.
# Before kvm_amd is unloaded: its symbols go with it.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
if [ -f /full-kallsyms ]; then
	grep ' [tT] ' /proc/kallsyms | gzip -1 > /dev/ttyS1
else
	grep ' [tT] .*\[' /proc/kallsyms | gzip -1 > /dev/ttyS1
fi
# The allocation log on the third port, as two gzip members (gzip -d reads
# them as one file): the trace while kvm_amd is loaded, then its unload and
# the free pages after it.  kvm_amd goes first, then kvm, which it uses.
# The free pages are measured as before the load, from the shell itself:
# inside the pipe to gzip they would count gzip's own memory as missing.
if [ $PROBES = 0 ]; then
	say "done"
	poweroff -f
fi
stty -F /dev/ttyS2 raw -echo 2>/dev/null
prov_log | gzip -1 > /dev/ttyS2
UNLOAD=""
for m in kvm_amd kvm; do
	ok=failed
	for try in 1 2 3 4 5; do
		rmmod $m 2>/dev/null && { ok=ok; break; }
		sleep 1
	done
	UNLOAD="$UNLOAD unload_${m}_$ok"
	[ "$m" = kvm_amd ] && [ $ok = ok ] && MEM_AFTER=$(prov_mem after_unload)
done
{
	for u in $UNLOAD; do
		u=${u#unload_}
		echo "unload ${u%_*} ${u##*_}"
	done
	[ -n "${MEM_AFTER:-}" ] && echo "$MEM_AFTER"
	echo "end"
} | gzip -1 > /dev/ttyS2
say "done"
poweroff -f
