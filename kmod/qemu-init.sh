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

# settled_free_pages: free pages once the count holds still, read a second
# apart until three readings in a row lie within SETTLE pages of each other
# (at most 30 readings).  Work the kernel defers past an rmmod (RCU
# callbacks, kfree_rcu batches, exited threads' stacks) would otherwise land
# inside the loop and look like a change the loads made.  Prints "PAGES
# READINGS FIRST": the settled count, how many readings it took, and the
# first reading, so a baseline that moved is shown, not hidden.
SETTLE=64
settled_free_pages() {
	local first prev cur n=1 still=0 d
	first=$(free_pages); prev=$first; cur=$first
	while [ $n -lt 30 ] && [ $still -lt 2 ]; do
		sleep 1
		cur=$(free_pages); n=$((n + 1)); d=$((cur - prev))
		if [ ${d#-} -le $SETTLE ]; then still=$((still + 1)); else still=0; fi
		prev=$cur
	done
	echo "$cur $n $first"
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
set -- $(settled_free_pages)
before=$1; before_readings=$2; before_first=$3
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
set -- $(settled_free_pages)
after=$1; after_readings=$2; after_first=$3
plan=$(grep -E '(^|\] )1\.\.[0-9]+$' /tmp/warm.log | head -n 1 | sed 's/.*1\.\.//')
dmesg -n 7
say "loop loads=$LOOPS failed_insmod_rmmod=$bad_load plan_per_load=${plan:-0} plans=$plan_lines ok=$ok_lines not_ok=$notok_lines free_pages_before=$before free_pages_after=$after before_readings=$before_readings before_first=$before_first after_readings=$after_readings after_first=$after_first"
say "done"
poweroff -f
