#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# /init of the test initramfs that kmod/qemu-test.sh boots.  Loads
# snpsafe_kmod once with the full self-test (its KTAP goes to the serial
# console), then loads and unloads it LOOPS times in quick mode, checking
# each load's KTAP and that free memory ends where it started, then powers
# off.  Everything it says starts with "snpsafe-init:" for the host to read.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

LOOPS=100
KO=/snpsafe_kmod.ko
say() { echo "snpsafe-init: $*" > /dev/console; }

# Free pages = MemFree plus the pages parked on per-CPU free lists (the
# "count:" lines of /proc/zoneinfo), which MemFree leaves out.
free_pages() {
	awk '/^MemFree:/ { print $2 / 4 }' /proc/meminfo > /tmp/mf
	awk '$1 == "count:" { s += $2 } END { print s + 0 }' /proc/zoneinfo > /tmp/pcp
	echo $(( $(cat /tmp/mf) + $(cat /tmp/pcp) ))
}

say "start, $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu(s), $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) kB"

# 1. The full self-test, its KTAP on the console.
if insmod $KO; then
	say "full self-test loaded"
	rmmod snpsafe_kmod || say "rmmod after the full self-test failed"
else
	say "insmod of the full self-test failed"
fi

# 2. Load/unload loop in quick mode, console quiet; results read with dmesg.
dmesg -n 1
dmesg -c > /dev/null
insmod $KO quick=1 && rmmod snpsafe_kmod	# warm-up: slab caches, module loader
dmesg -c > /tmp/warm.log
sleep 1
before=$(free_pages)
i=0; bad_load=0; ok_lines=0; notok_lines=0; plan_lines=0
while [ $i -lt $LOOPS ]; do
	i=$((i + 1))
	insmod $KO quick=1 || bad_load=$((bad_load + 1))
	rmmod snpsafe_kmod || bad_load=$((bad_load + 1))
	dmesg -c > /tmp/load.log
	ok_lines=$((ok_lines + $(grep -cE '(^|\] )ok [0-9]+ ' /tmp/load.log)))
	notok_lines=$((notok_lines + $(grep -cE '(^|\] )not ok [0-9]+ ' /tmp/load.log)))
	plan_lines=$((plan_lines + $(grep -cE '(^|\] )1\.\.[0-9]+$' /tmp/load.log)))
	if grep -qE '(^|\] )not ok ' /tmp/load.log; then
		say "quick load $i reported a failure:"
		grep -E 'not ok|^#|\] #' /tmp/load.log | sed 's/^/snpsafe-init:   /' > /dev/console
	fi
done
sleep 1
after=$(free_pages)
plan=$(grep -E '(^|\] )1\.\.[0-9]+$' /tmp/warm.log | head -n 1 | sed 's/.*1\.\.//')
dmesg -n 7
say "loop loads=$LOOPS failed_insmod_rmmod=$bad_load plan_per_load=${plan:-0} plans=$plan_lines ok=$ok_lines not_ok=$notok_lines free_pages_before=$before free_pages_after=$after"
say "done"
poweroff -f
