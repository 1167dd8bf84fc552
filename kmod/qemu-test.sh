#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# kmod/qemu-test.sh -- `make kmod-test`: build snpsafe_kmod.ko against a
# Debian kernel and run its self-test in that kernel under QEMU.
#
#  1. Pick one Debian kernel version: $SNPSAFE_KVER if set, else the 6.1
#     pinned in scripts/debian.sh if the archive (or this machine) still has it, else the one
#     Debian's linux-image-amd64 meta-package points at now.
#  2. Install what is missing from Debian's archive: linux-headers-<ver>
#     (apt-get), qemu-system-x86, busybox-static, cpio.  The kernel image is
#     fetched with `apt-get download` and unpacked with dpkg-deb into
#     .cache/kernels (scripts/debian.sh; no postinst hooks, no grub).
#  3. Build the module (warnings are errors, and the log is checked too).
#  4. Boot the kernel under QEMU (TCG unless a short probe shows a KVM guest
#     boots: on this machine kind it does not) with an initramfs of busybox-static, the .ko and
#     kmod/qemu-init.sh, which runs the full self-test once and a 100-times
#     quick load/unload loop, then powers off.
#  5. Read the serial console log: fail on any "not ok", on a missing
#     result, or when QEMU overruns its time limit.
#
# Knobs: SNPSAFE_ACCEL=auto|tcg|kvm, SNPSAFE_KVER=<ver> (e.g. 6.1.0-56-amd64), SNPSAFE_QEMU_TIMEOUT=600
# (seconds), SNPSAFE_QEMU_MEM=1024 (MiB), SNPSAFE_KMOD_ARGS="..." (extra
# module parameters for the full self-test, e.g. "iterations=100000"),
# SNPSAFE_KERNEL_ARGS="..." (extra kernel command line, e.g. init_on_alloc=0).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=$here/.cache
TIMEOUT=${SNPSAFE_QEMU_TIMEOUT:-600}
MEM=${SNPSAFE_QEMU_MEM:-1024}
SNP_LOG_PREFIX=kmod-test
# Installs, kernel versions and kernel images: shared with watch/run.sh.
# shellcheck source=../scripts/debian.sh
source "$here/../scripts/debian.sh"

log() { echo "kmod-test: $*"; }
die() { echo "kmod-test: FAIL: $*" >&2; exit 1; }
have_headers() { [ -f "/usr/src/linux-headers-$1/Makefile" ]; }

t0=$(date +%s)
mkdir -p "$cache"

# ---- 1. kernel version ------------------------------------------------------
# $SNPSAFE_KVER, else Debian's 6.1 as the project pins it (scripts/debian.sh).
kver=$(snp_kernel_resolve "${SNPSAFE_KVER:-6.1}") && [ -n "$kver" ] || die "no kernel to test"
if ! have_headers "$kver"; then
	snp_apt_update
	snp_in_archive "linux-headers-$kver" || die "linux-headers-$kver not in the archive"
fi
log "kernel $kver"

# ---- 2. installs --------------------------------------------------------------
pkgs=(busybox-static cpio make gzip)
have_headers "$kver" || pkgs+=("linux-headers-$kver")
command -v qemu-system-x86_64 >/dev/null 2>&1 || pkgs+=(qemu-system-x86)
snp_install "${pkgs[@]}"
snp_kernel_fetch "$kver"
vmlinuz=$(snp_kernel_dir "$kver")/boot/vmlinuz-$kver
t_install=$(date +%s)

# ---- 3. build -------------------------------------------------------------------
bdir=$cache/build-$kver
rm -rf "$bdir"
mkdir -p "$bdir"
cp "$here"/Kbuild "$here"/*.c "$here"/*.h "$bdir"/
log "building snpsafe_kmod.ko against /usr/src/linux-headers-$kver"
if ! make -C "/usr/src/linux-headers-$kver" M="$bdir" modules > "$bdir/build.log" 2>&1; then
	cat "$bdir/build.log"
	die "module build failed"
fi
if grep -qiE 'warning:|error:' "$bdir/build.log"; then
	cat "$bdir/build.log"
	die "module build printed warnings"
fi
ko=$bdir/snpsafe_kmod.ko
[ -f "$ko" ] || die "no $ko"
vermagic=$(tr '\0' '\n' < "$ko" | sed -n 's/^vermagic=//p' | head -n 1)
log "built $(basename "$ko"), vermagic: ${vermagic:-?}"
t_build=$(date +%s)

# ---- 4. initramfs + QEMU --------------------------------------------------------------
ird=$cache/initramfs
rm -rf "$ird"
mkdir -p "$ird"/{bin,dev,proc,sys,tmp}
cp /bin/busybox "$ird/bin/busybox"
cp "$here/qemu-init.sh" "$ird/init"
chmod 755 "$ird/init" "$ird/bin/busybox"
cp "$ko" "$ird/snpsafe_kmod.ko"
if [ -n "${SNPSAFE_KMOD_ARGS:-}" ]; then
	sed -i "s|^if insmod \$KO; then|if insmod \$KO ${SNPSAFE_KMOD_ARGS}; then|" "$ird/init"
fi
(cd "$ird" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$cache/initrd.gz"

# KVM only if a short probe proves a KVM guest boots here (on this project's
# machine kind it does not: -cpu host aborts at once, other CPU models hang
# in early boot); otherwise TCG, which boots Debian's kernel in seconds.
# The verdict is kept in kmod/.cache.  SNPSAFE_ACCEL=tcg|kvm forces one.
accel_mode=${SNPSAFE_ACCEL:-auto}
if [ "$accel_mode" = auto ]; then
	verdict=$cache/accel-$kver
	if [ -f "$verdict" ]; then
		accel_mode=$(cat "$verdict")
	elif [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		pdir=$cache/probe
		rm -rf "$pdir" && mkdir -p "$pdir/bin"
		cp /bin/busybox "$pdir/bin/busybox"
		printf '#!/bin/busybox sh\n/bin/busybox echo snpsafe-probe: up > /dev/console\n/bin/busybox poweroff -f\n' > "$pdir/init"
		chmod 755 "$pdir/init"
		(cd "$pdir" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$cache/probe.gz"
		# In a subshell, so that bash's own "Aborted" notice is hushed too.
		(exec 2> /dev/null; timeout --kill-after=5 20 qemu-system-x86_64 -accel kvm -cpu host -smp 1 -m 256 \
			-kernel "$vmlinuz" -initrd "$cache/probe.gz" \
			-append "console=ttyS0 panic=-1" -nographic -monitor none \
			-serial "file:$cache/probe.log" -no-reboot < /dev/null > /dev/null || true)
		if grep -q 'snpsafe-probe: up' "$cache/probe.log" 2>/dev/null; then
			accel_mode=kvm
		else
			accel_mode=tcg
		fi
		echo "$accel_mode" > "$verdict"
		log "KVM probe: $( [ "$accel_mode" = kvm ] && echo boots || echo 'does not boot' ), using $accel_mode"
	else
		accel_mode=tcg
	fi
fi
case $accel_mode in
kvm) accel=(-accel kvm -cpu host) ;;
*) accel_mode=tcg; accel=(-accel tcg -cpu max) ;;
esac
serial=$cache/serial.log
rm -f "$serial"
log "booting $kver in QEMU ($accel_mode, 1 vCPU, ${MEM} MiB, time limit ${TIMEOUT}s)"
rc=0
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 "${accel[@]}" -smp 1 -m "$MEM" \
	-kernel "$vmlinuz" \
	-initrd "$cache/initrd.gz" \
	-append "console=ttyS0 panic=-1 printk.time=0 loglevel=7 rdinit=/init ${SNPSAFE_KERNEL_ARGS:-}" \
	-nographic -monitor none -serial "file:$serial" -no-reboot \
	< /dev/null > "$cache/qemu.out" 2>&1 || rc=$?
t_qemu=$(date +%s)
[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || { tail -n 40 "$serial" 2>/dev/null; die "QEMU overran its ${TIMEOUT}s time limit"; }
[ "$rc" -eq 0 ] || { cat "$cache/qemu.out"; tail -n 40 "$serial" 2>/dev/null; die "QEMU exited with status $rc"; }
[ -s "$serial" ] || die "no serial console output"

# ---- 5. results ---------------------------------------------------------------
# Console lines may carry a "[ time]" prefix if printk.time is on; drop it.
tr -d '\r' < "$serial" | sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' > "$cache/console.log"
# The full run's KTAP: from "KTAP version 1" to the module's closing
# comment, less other kernel messages printed in between.
awk '/^KTAP version 1$/ { on = 1 }
	on && /^(KTAP version 1|1\.\.[0-9]+|(not )?ok [0-9]+( .*)?|# .*)$/ { print }
	on && /^# snpsafe: [0-9]+ passed/ { exit }' "$cache/console.log" > "$cache/ktap.log"

echo "KTAP version 1"
if [ "$accel_mode" = tcg ]; then
	echo "# kmod-test: kernel $kver under QEMU TCG; timings are emulated, compare ratios only"
else
	echo "# kmod-test: kernel $kver under QEMU with KVM"
fi
echo "1..4"
passed=0; failed=0
result() {	# result OK|FAIL NUMBER NAME [reason]
	if [ "$1" = OK ]; then
		echo "ok $2 $3"; passed=$((passed + 1))
	else
		echo "not ok $2 $3${4:+ # $4}"; failed=$((failed + 1))
	fi
}

sed 's/^/    /' "$cache/ktap.log"
plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$cache/ktap.log" | head -n 1)
why=""
if [ ! -s "$cache/ktap.log" ] || [ -z "$plan" ]; then
	why="no KTAP plan from the module"
elif grep -q '^not ok ' "$cache/ktap.log"; then
	why="a self-test case failed"
else
	for i in $(seq 1 "$plan"); do
		grep -qE "^ok $i( |$)" "$cache/ktap.log" || { why="result $i of $plan missing"; break; }
	done
	[ -n "$why" ] || [ "$(grep -cE '^(not )?ok [0-9]+' "$cache/ktap.log")" -eq "$plan" ] ||
		why="more results than the plan"
	grep -q '^# snpsafe: [0-9]* passed' "$cache/ktap.log" || why=${why:-"no closing line"}
fi
[ -z "$why" ] && result OK 1 snpsafe_kmod_full_selftest || result FAIL 1 snpsafe_kmod_full_selftest "$why"

loop=$(grep '^snpsafe-init: loop ' "$cache/console.log" | tail -n 1 || true)
grep '^snpsafe-init: ' "$cache/console.log" | sed 's/^snpsafe-init: /    # init: /' | grep -v '^    # init: loop ' || true
field() { echo "$loop" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
if [ -z "$loop" ]; then
	result FAIL 2 load_unload_quick_x100 "the loop did not report"
	result FAIL 3 free_pages_stable_over_loop "the loop did not report"
else
	echo "    # $loop"
	loads=$(field loads); bad=$(field failed_insmod_rmmod); pl=$(field plan_per_load)
	plans=$(field plans); ok=$(field ok); nok=$(field not_ok)
	fb=$(field free_pages_before); fa=$(field free_pages_after)
	if [ "$bad" = 0 ] && [ "$nok" = 0 ] && [ "${pl:-0}" -gt 0 ] && [ "$plans" = "$loads" ] &&
		[ "$ok" = $((pl * loads)) ]; then
		result OK 2 load_unload_quick_x100
	else
		result FAIL 2 load_unload_quick_x100 "insmod/rmmod failures $bad, not ok $nok, ok $ok of $((pl * loads))"
	fi
	# Tolerance: 1024 pages (4 MiB) for the kernel's own activity and the
	# per-CPU vmstat deltas MemFree does not fold in; a leak of even a dozen
	# pages per load would add up past it over 100 loads.
	d=$((fa - fb))
	echo "    # free pages (MemFree + per-CPU lists) before the loop $fb, after $fa, change $d, tolerance 1024"
	if [ "${d#-}" -le 1024 ]; then
		result OK 3 free_pages_stable_over_loop
	else
		result FAIL 3 free_pages_stable_over_loop "free pages moved by $d"
	fi
fi
grep -q '^snpsafe-init: done' "$cache/console.log" || { echo "# init did not finish"; failed=$((failed + 1)); }
# The kernel itself must not have complained (oops, warning, lockup).
bad_lines=$(grep -E 'BUG:|WARNING:|Oops|Call Trace:|soft lockup|hung_task|Kernel panic' "$cache/console.log" | head -n 5 || true)
if [ -z "$bad_lines" ]; then
	result OK 4 kernel_log_clean
else
	echo "$bad_lines" | sed 's/^/    # /'
	result FAIL 4 kernel_log_clean "the kernel log has an oops, warning or lockup"
fi
t_end=$(date +%s)
echo "# kmod: $passed passed, $failed failed (install $((t_install - t0))s, build $((t_build - t_install))s, qemu $((t_qemu - t_build))s, total $((t_end - t0))s)"
[ "$failed" -eq 0 ] || die "see $cache/console.log"
