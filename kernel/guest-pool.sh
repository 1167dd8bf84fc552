#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# kernel/guest-pool.sh STAGE -- the guest hook of `make kvm-patch-test`
# (watch/init.sh runs it; SNPSAFE_WATCH_GUEST_HOOK): at "done", the workload
# over and kvm_amd still loaded, print the pools, run the shrinkers
# (drop_caches=2 shrinks slab, which calls every registered shrinker), and
# print the pools again.  Lines "snpsafe-pool: ...".
P=/sys/kernel/debug/kvm_amd/snp_safe_pages
[ "$1" = done ] || exit 0
mount -t debugfs nodev /sys/kernel/debug 2>/dev/null
if [ ! -r $P ]; then
	echo "snpsafe-pool: none"
	exit 0
fi
sed 's/^/snpsafe-pool: before /' $P
echo 2 > /proc/sys/vm/drop_caches
sed 's/^/snpsafe-pool: after-shrink /' $P
