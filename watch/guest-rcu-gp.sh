#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# watch/guest-rcu-gp.sh STAGE -- a guest hook for `snpsafe watch`
# (SNPSAFE_WATCH_GUEST_HOOK, watch/run.sh) that times, while the workload
# runs, each VM's end against the slab pages freed after it: at the stage
# "loaded" it records into a trace instance of its own, at "done" it prints
# the records to the console with the prefix "snpsafe-rcu-gp:".
#
#   snpsafe_rcu/vm_create    a kprobe on kvm_arch_init_vm (arch/x86/kvm/x86.c,
#                            called by kvm_create_vm before the VM's debugfs
#                            files are made): the VM (struct kvm) and its CPU
#   snpsafe_rcu/vm_destroy   a kprobe on kvm_destroy_vm (virt/kvm/kvm_main.c):
#                            a VM's end, which removes its debugfs files and
#                            queues their inodes' frees behind an RCU grace
#                            period (fs/inode.c destroy_inode -> call_rcu)
#   kmem/mm_page_alloc       order-2 allocations: in these boots nearly all
#                            are slabs of the inode cache (docs/WATCH.md)
#   kmem/mm_page_free        order-2 frees: those slabs given back
#   rcu/rcu_batch_end        where the kernel has it (CONFIG_RCU_TRACE): the
#                            callbacks each RCU batch ran
#   kmem/kmem_cache_alloc    a histogram by call site and object size, and
#   kmem/kmem_cache_free     one by cache name (hist triggers on the main
#                            buffer's events; printed at "done")
#
# and, at "loaded", the inode and dentry caches' geometry from
# /sys/kernel/slab (object size, objects and order of a slab, min_partial,
# cpu_partial): what src/mm/slub.c computes.
#
# Each record has its CPU and time.  What the records showed is docs/WATCH.md
# "How long a VM's debugfs inodes wait".
T=/sys/kernel/tracing
I=$T/instances/snpsafe-rcu-gp
say() { echo "snpsafe-rcu-gp: $*"; }
on() {	# on EVENT-DIR [FILTER]: a refusal is said, not fatal
	[ -d "$I/events/$1" ] || { say "absent: $1"; return 0; }
	[ -z "${2:-}" ] || echo "$2" > "$I/events/$1/filter" || say "refused filter: $1: $2"
	echo 1 > "$I/events/$1/enable" || say "refused: $1"
}
case "$1" in
loaded)
	mkdir "$I" 2> /dev/null || { say "no trace instance"; exit 0; }
	echo 8192 > "$I/buffer_size_kb"
	echo 'p:snpsafe_rcu/vm_create kvm_arch_init_vm kvm=%di:x64' >> "$T/kprobe_events" ||
		say "refused: kprobe on kvm_arch_init_vm"
	echo 'p:snpsafe_rcu/vm_destroy kvm_destroy_vm kvm=%di:x64' >> "$T/kprobe_events" ||
		say "refused: kprobe on kvm_destroy_vm"
	on snpsafe_rcu/vm_create
	on snpsafe_rcu/vm_destroy
	on kmem/mm_page_alloc 'order == 2'
	on kmem/mm_page_free 'order == 2'
	on rcu/rcu_batch_end
	for c in inode_cache dentry; do
		for f in object_size slab_size objs_per_slab order min_partial cpu_partial; do
			[ -r "/sys/kernel/slab/$c/$f" ] && say "slab $c $f $(cat "/sys/kernel/slab/$c/$f")"
		done
	done
	echo 'hist:keys=call_site.sym,bytes_alloc:vals=hitcount:size=4096' >> "$T/events/kmem/kmem_cache_alloc/trigger" ||
		say "refused: hist on kmem_cache_alloc"
	echo 'hist:keys=name:vals=hitcount:size=1024' >> "$T/events/kmem/kmem_cache_free/trigger" ||
		say "refused: hist on kmem_cache_free"
	say "armed at $(cut -d' ' -f1 /proc/uptime)"
	;;
done)
	[ -d "$I" ] || exit 0
	echo 0 > "$I/tracing_on"
	say "done at $(cut -d' ' -f1 /proc/uptime)"
	say "lost $(awk '/overrun/ { n += $2 } END { print n + 0 }' "$I"/per_cpu/cpu*/stats)"
	grep -v '^#' "$I/trace" | sed 's/^/snpsafe-rcu-gp: /'
	for ev in kmem_cache_alloc kmem_cache_free; do
		grep -v '^#' "$T/events/kmem/$ev/hist" | grep . | sed "s/^/snpsafe-rcu-gp: $ev: /"
	done
	;;
esac
exit 0
