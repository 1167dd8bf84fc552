#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# watch/rcu-gp-report.sh FILE -- what watch/guest-rcu-gp.sh recorded in one
# boot (FILE: its "snpsafe-rcu-gp:" lines, or the boot's console.txt), as
# docs/WATCH.md "Where a VM ends, and when its inodes go" quotes it:
#
#   vms          VMs made and ended while recording (a kprobe each, with the
#                VM's address), how many ended on the CPU that made them,
#                and the CPUs' shares of the makings and of the ends
#   order2       order-2 pages allocated and freed (in these boots the inode
#                cache's slabs on 6.12; 6.1's are order 1 and not recorded)
#   lag          ms from the last VM end on the freeing CPU to each order-2
#                free, the 10th, 25th, 50th, 75th, 90th percentiles (an RCU
#                grace period and the callbacks' wait)
#   next_create  ms from a VMM thread's VM end to its next VM's making, the
#                same percentiles
#   slab         where the boot recorded them: the inode and dentry caches'
#                geometry, and the objects freed while recording of the
#                caches a VM's and a vCPU's life use, and a VM's share
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: rcu-gp-report.sh FILE" >&2; exit 2; }
[ -r "$1" ] || { echo "rcu-gp-report.sh: cannot read $1" >&2; exit 1; }
vms=$(grep -a -c 'snpsafe-rcu-gp: .*vm_destroy:' "$1" || true)
{ grep -a 'snpsafe-rcu-gp: .*\(vm_create\|vm_destroy\|mm_page_alloc\|mm_page_free\):' "$1" || true; } |
	sed -E 's/^.*-([0-9]+) +\[0*([0-9]+)\] [^ ]+ +([0-9.]+): ([a-z_]+): (.*)$/\3 \2 \4 \1 \5/' |
	awk '
	function pct(a, n, p,   i) { i = int(p * (n - 1)); return a[i + 1] }
	function quant(a, n,   i, j, t, s) {
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		s = ""
		for (i = 0; i < 5; i++) s = s sprintf(" %.1f", 1000 * pct(a, n, (i == 0 ? 0.1 : i == 1 ? 0.25 : i == 2 ? 0.5 : i == 3 ? 0.75 : 0.9)))
		return s
	}
	{
		t = $1; cpu = $2; ev = $3; tid = $4
		if (ev == "vm_create" || ev == "vm_destroy") {
			match($0, /kvm=0x[0-9a-f]+/); vm = substr($0, RSTART + 4, RLENGTH - 4)
		}
		if (ev == "vm_create") {
			made[vm] = cpu; nmade[cpu]++; if (cpu + 0 > maxcpu) maxcpu = cpu + 0
			if (tid in ended) { nc++; gap[nc] = t - ended[tid]; delete ended[tid] }
		} else if (ev == "vm_destroy") {
			lastend[cpu] = t; ended[tid] = t
			if (vm in made) { nvm++; same += made[vm] == cpu; nend[cpu]++; delete made[vm] }
		} else if (ev == "mm_page_alloc" && $0 ~ /order=2/) {
			alloc2++
		} else if (ev == "mm_page_free" && $0 ~ /order=2/) {
			free2++
			if (cpu in lastend) { nl++; lag[nl] = t - lastend[cpu] }
		}
	}
	END {
		printf "vms %d same_cpu %d", nvm, same
		for (c = 0; nvm && c <= maxcpu; c++) printf " cpu%d made %d ended %d", c, nmade[c], nend[c]
		printf "\norder2 allocated %d freed %d\n", alloc2, free2
		if (nl) printf "lag_ms%s\n", quant(lag, nl)
		if (nc) printf "next_create_ms%s\n", quant(gap, nc)
	}'
sed -n 's/^snpsafe-rcu-gp: slab \([a-z_]*\) \([a-z_]*\) \([0-9]*\)$/slab \1 \2 \3/p' "$1"
sed -n 's/^snpsafe-rcu-gp: kmem_cache_free: { name: \([a-z0-9_]*\) *} hitcount: *\([0-9]*\)$/\1 \2/p' "$1" |
	awk -v vms="$vms" '$1 ~ /^(inode_cache|lsm_inode_cache|dentry|kvm_vcpu|x86_emulator|kvm_mmu_page_header)$/ {
		printf "freed %s %d", $1, $2
		if (vms > 0) printf " (%.2f a VM ended)", $2 / vms
		printf "\n"
	}'
