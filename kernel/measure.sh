#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# kernel/measure.sh -- the cost of snp_safe_alloc_page_node() in the real
# kvm_amd, three ways, each over BOOTS boots of Debian's 6.12 under QEMU TCG
# (watch/run.sh without the plugin), the same workload every time:
#   plain     6.12's shipped kvm_amd, the host without SNP: the order-0 path
#   upstream  the shipped kvm_amd with CC_ATTR_HOST_SEV_SNP set (--host-snp):
#             the order-1 path
#   sieve     kvm-amd.ko built by kernel/build.sh with the patch, --host-snp
#   stock     (a control, on request) kvm-amd.ko built by kernel/build.sh from the
#             same source without the patch, the host without SNP: plain's
#             path in a module built the way sieve's is
# In the guest, kernel/guest-measure.sh times every call with the function
# graph tracer and reads /proc/vmstat, the pools and free pages.
#
# Usage: kernel/measure.sh OUTDIR [BOOTS] [MODES]
# Env: SNPSAFE_MEASURE_WORKLOAD="VMS VCPUS SECONDS LIFETIME" (default "4 2 20 0.2"),
#      SNPSAFE_MEASURE_CPUS (2), SNPSAFE_MEASURE_MEM_MIB (1024),
#      SNPSAFE_MEASURE_FRAGMENT=1: kernel/fragment.c, built static, leaves the guest's
#      allocator with no free block of order >= 1 after kvm_amd loads, before any VM.
# Prints one line per boot and a table with 95% intervals (t over boots).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
SNP_LOG_PREFIX=measure
# shellcheck source=../scripts/debian.sh
source "$top/scripts/debian.sh"

[ $# -ge 1 ] || snp_die "usage: kernel/measure.sh OUTDIR [BOOTS] [MODES]"
out=$1 boots=${2:-5} modes=${3:-plain upstream sieve}
read -r vms vcpus secs life <<< "${SNPSAFE_MEASURE_WORKLOAD:-4 2 20 0.2}"
cpus=${SNPSAFE_MEASURE_CPUS:-2} mem=${SNPSAFE_MEASURE_MEM_MIB:-1024}
snp_install python3
kver=$(snp_kernel_resolve 6.12)
mkdir -p "$out"
ko=""
case " $modes " in *" sieve "*) ko=$(bash "$here/build.sh" "$kver" sieve | tail -n 1) ;; esac
stock_ko=""
case " $modes " in *" stock "*) stock_ko=$(bash "$here/build.sh" "$kver" stock | tail -n 1) ;; esac

hook=$here/guest-measure.sh
if [ "${SNPSAFE_MEASURE_FRAGMENT:-0}" = 1 ]; then
	frag=$out/fragment
	gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static -o "$frag" "$here/fragment.c" ||
		snp_die "building kernel/fragment.c failed"
fi

for b in $(seq 1 "$boots"); do
	for m in $modes; do
		d=$out/$m-$b
		env=(SNPSAFE_WATCH_GUEST_HOOK="$hook" SNPSAFE_WATCH_HOST_SNP=0 SNPSAFE_WATCH_KVM_AMD_KO=)
		case $m in
		plain) ;;
		stock) env[2]=SNPSAFE_WATCH_KVM_AMD_KO=$stock_ko ;;
		upstream) env[1]=SNPSAFE_WATCH_HOST_SNP=1 ;;
		sieve) env[1]=SNPSAFE_WATCH_HOST_SNP=1; env[2]=SNPSAFE_WATCH_KVM_AMD_KO=$ko ;;
		*) snp_die "unknown way '$m' (plain, stock, upstream, sieve)" ;;
		esac
		[ -z "${frag:-}" ] || env+=(SNPSAFE_WATCH_EXTRA_FILE="$frag:fragment")
		env "${env[@]}" bash "$top/watch/run.sh" "$d" "$kver" "$vms" "$vcpus" "$secs" "$life" \
			"$cpus" "$mem" ever 0 > "$d.log" 2>&1 || { tail -n 5 "$d.log" >&2; snp_die "boot $b ($m) failed"; }
		grep -h '^snpsafe-measure: graph' "$d/console.txt" | sed "s/^snpsafe-measure:/$m boot $b:/"
	done
done
python3 "$here/measure-report.py" "$out" $modes
