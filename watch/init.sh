#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# /init of the watched kernel's initramfs (watch/run.sh builds it): load
# kvm_amd and what it needs, run the workload, print the kernel's text
# module symbols on the second serial port for the symbol pass, power off.
# Everything for the host starts with "snpsafe-watch:".
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp

say() { echo "snpsafe-watch: $*" > /dev/console; }
say "start $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
hook() { [ -x /hook ] && /hook "$1" > /dev/console 2>&1; }
hook pre
for m in $(cat /modules.order); do
	# --host-snp: before kvm_amd, make the kernel believe the host has SNP.
	if [ "$m" = kvm-amd ] && [ -f /hostsnp.ko ]; then
		addr=$(awk '$3 == "cc_platform_set" { print $1 }' /proc/kallsyms)
		insmod /hostsnp.ko cc_platform_set_addr=0x$addr || say "insmod hostsnp failed"
		dmesg | grep 'snpsafe-hostsnp' | sed 's/^.*snpsafe-hostsnp/snpsafe-hostsnp/' > /dev/console
	fi
	insmod "/lib/modules/$m.ko" || say "insmod $m failed"
done
# An independent count of kvm_amd's allocations, from the kernel's own
# kprobes (tracefs kprobe_profile keeps a hit count per probe).
T=/sys/kernel/tracing
mount -t tracefs nodev $T 2>/dev/null
probes="svm_vcpu_create snp_safe_alloc_page_node split_page"
for p in $probes; do
	grep -qE " $p([[:space:]]|$)" /proc/kallsyms && echo "p:snpsafe_$p $p" >> $T/kprobe_events 2>/dev/null
done
echo 1 > $T/events/kprobes/enable 2>/dev/null
if [ -c /dev/kvm ]; then
	say "meminfo total_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) free_kb=$(awk '/^MemFree:/ { print $2 }' /proc/meminfo)"
	hook loaded
	/workload $(cat /workload.args) > /tmp/workload.out 2>&1
	rc=$?
	hook done
	sed 's/^/snpsafe-watch: /' /tmp/workload.out > /dev/console
	say "workload exit $rc"
	awk '$1 ~ /^snpsafe_/ { sub(/^snpsafe_/, "", $1); print "snpsafe-watch: kprobe " $1 " " $2 }' \
		$T/kprobe_profile > /dev/console 2>/dev/null
else
	say "no /dev/kvm: kvm_amd did not load"
	dmesg | tail -n 20 | sed 's/^/snpsafe-watch: dmesg: /' > /dev/console
fi
# Text symbols, gzipped through a raw tty (a serial port under TCG moves
# about 100 KB/s); only the modules' when the host has a real System.map.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
if [ -f /full-kallsyms ]; then
	grep ' [tT] ' /proc/kallsyms | gzip -1 > /dev/ttyS1
else
	grep ' [tT] .*\[' /proc/kallsyms | gzip -1 > /dev/ttyS1
fi
say "done"
poweroff -f
