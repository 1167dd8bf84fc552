#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_install.sh -- in `make test`: nothing is installed, and no apt
# source added, unasked (issue 23, item 10; scripts/debian.sh snp_consent).
# apt-get is a stub on PATH that records its arguments and changes nothing,
# and dpkg one that says no package is installed, so every package looks
# missing and no real apt-get runs; the backports sources file goes to a
# scratch folder.  Without consent and without a terminal, snp_install,
# snp_backports and snp_install_qemu stop with one line naming what they
# needed and run no apt-get; with SNPSAFE_INSTALL=1 or CI=true they go on; on
# a terminal they ask, and only "y" goes on.  Through the built command:
# `snpsafe watch` stops before any apt-get, naming the packages; with
# --install it runs apt-get install.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/stub" "$tmp/qemu8"
cat > "$tmp/stub/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get $*" >> "$TEST_APT_LOG"
EOF
cat > "$tmp/stub/dpkg" <<'EOF'
#!/bin/sh
[ "$1" = -s ] && exit 1
exec /usr/bin/dpkg "$@"
EOF
cat > "$tmp/qemu8/qemu-system-x86_64" <<'EOF'
#!/bin/sh
echo "QEMU emulator version 8.2.0"
EOF
chmod +x "$tmp/stub/apt-get" "$tmp/stub/dpkg" "$tmp/qemu8/qemu-system-x86_64"
export TEST_APT_LOG=$tmp/apt.log SNP_BACKPORTS_LIST=$tmp/backports.sources SNP_CACHE=$tmp/cache
export SNP_SECURITY_LIST=$tmp/security.sources
# apt-cache knows the pinned 6.1 image only once the security source is there
# (Debian's archive has 6.1.0-56 in bookworm-security alone).
printf '%s\n' '#!/bin/sh' \
	'[ "$1 $2" = "show linux-image-6.1.0-56-amd64" ] && [ -f "$SNP_SECURITY_LIST" ] && exit 0' \
	'exit 1' > "$tmp/stub/apt-cache"
chmod +x "$tmp/stub/apt-cache"

n=0 passed=0 failed=0 skipped=0
echo "KTAP version 1"
echo "1..16"
report() {	# report DESCRIPTION PROBLEMS (empty: ok)
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n $1"; passed=$((passed + 1))
	else
		printf '%s\n' "$2" | sed 's/^/# /'
		echo "not ok $n $1"; failed=$((failed + 1))
	fi
}

# run CONSENT FUNCTION [ARG...]: a debian.sh function with the stubs first on PATH,
# stdin /dev/null, CI and SNPSAFE_INSTALL unset unless CONSENT names one
# ("none", "SNPSAFE_INSTALL=1", "CI=true"); sets rc, err (its stderr), apt (the calls).
run() {
	local consent=$1; shift
	rm -f "$TEST_APT_LOG" "$SNP_BACKPORTS_LIST" "$SNP_SECURITY_LIST"
	env -u CI -u SNPSAFE_INSTALL ${consent#none} PATH="$tmp/stub:${QEMU_STUB:-}$PATH" \
		bash -c 'SNP_LOG_PREFIX=test; eval "${TEST_PRELUDE:-}"; source "$0/scripts/debian.sh"
			snp_debian_mirror() { echo "${TEST_MIRROR:-http://mirror.example/debian}"; }
			snp_have_security() { return 1; }
			"$@"' "$root" "$@" < /dev/null > "$tmp/out" 2> "$tmp/err"
	rc=$?
	err=$(cat "$tmp/err")
	apt=$(cat "$TEST_APT_LOG" 2>/dev/null)
}

# Problems with a refusal: exit 0, not one line, a word missing, apt-get run, the source added.
refused() {	# refused WORD...
	local w p=""
	[ "$rc" -ne 0 ] || p+="exit 0 without consent"$'\n'
	[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || p+="not one line on stderr: $err"$'\n'
	for w in "$@"; do
		[[ $err == *"$w"* ]] || p+="stderr does not name '$w': $err"$'\n'
	done
	[ -z "$apt" ] || p+="apt-get ran: $apt"$'\n'
	[ ! -e "$SNP_BACKPORTS_LIST" ] || p+="$SNP_BACKPORTS_LIST was written"$'\n'
	[ ! -e "$SNP_SECURITY_LIST" ] || p+="$SNP_SECURITY_LIST was written"$'\n'
	printf '%s' "$p"
}

# Problems when a call was wanted: each line given must be among apt-get's calls.
called() {	# called LINE...
	local l p=""
	for l in "$@"; do
		grep -qxF -- "$l" <<< "$apt" || p+="apt-get was not run as '$l' (calls: ${apt:-none}; stderr: $err)"$'\n'
	done
	printf '%s' "$p"
}

install_line="apt-get install -y -qq --no-install-recommends busybox-static cpio"

run none snp_install busybox-static cpio
report "snp_install without consent or terminal: stops, names the packages, runs no apt-get" \
	"$(refused "FAIL: not done without consent: apt-get install busybox-static cpio" "--install" "SNPSAFE_INSTALL=1")"

run SNPSAFE_INSTALL=1 snp_install busybox-static cpio
report "snp_install with SNPSAFE_INSTALL=1: apt-get update, then install" \
	"$(called "apt-get update -qq" "$install_line"; [ "$rc" -eq 0 ] || echo "exit $rc: $err")"

run CI=true snp_install busybox-static cpio
report "snp_install with CI=true (CI's fresh machine): installs" "$(called "$install_line")"

run none snp_backports
report "snp_backports without consent: stops, names the source, writes no sources file" \
	"$(refused "add the apt source 'deb deb-src http://mirror.example/debian bookworm-backports main' as $SNP_BACKPORTS_LIST")"

run SNPSAFE_INSTALL=1 snp_backports
report "snp_backports with SNPSAFE_INSTALL=1: the sources file, from this machine's mirror" \
	"$(called "apt-get update -qq"; grep -qx 'URIs: http://mirror.example/debian' "$SNP_BACKPORTS_LIST" 2>/dev/null ||
		echo "no URIs line in $SNP_BACKPORTS_LIST")"

run none snp_security
report "snp_security without consent: stops, names the source, writes no sources file" \
	"$(refused "add the apt source 'deb deb-src http://mirror.example/debian-security bookworm-security main' as $SNP_SECURITY_LIST")"

run SNPSAFE_INSTALL=1 snp_security
report "snp_security with SNPSAFE_INSTALL=1: bookworm-security beside this machine's mirror" \
	"$(called "apt-get update -qq"
	   grep -qx 'URIs: http://mirror.example/debian-security' "$SNP_SECURITY_LIST" 2>/dev/null ||
		echo "no debian-security URIs line in $SNP_SECURITY_LIST"
	   grep -qx 'Suites: bookworm-security' "$SNP_SECURITY_LIST" 2>/dev/null ||
		echo "no bookworm-security suite in $SNP_SECURITY_LIST")"

TEST_MIRROR=http://mirror.example/pool run SNPSAFE_INSTALL=1 snp_security
report "snp_security where no security archive can be derived: returns 1, adds nothing" \
	"$([ "$rc" -ne 0 ] || echo "exit 0"; [ ! -e "$SNP_SECURITY_LIST" ] || echo "sources file written"
	   [ -z "$apt" ] || echo "apt-get ran: $apt")"

run SNPSAFE_INSTALL=1 snp_kernel_resolve 6.1
report "snp_kernel_resolve 6.1: the pin found once bookworm-security is added, no fallback" \
	"$(out=$(cat "$tmp/out"); [ "$out" = 6.1.0-56-amd64 ] || echo "resolved '$out' (rc $rc): $err"
	   [ -f "$SNP_SECURITY_LIST" ] || echo "no $SNP_SECURITY_LIST")"

QEMU_STUB=$tmp/qemu8:
run none snp_install_qemu
report "snp_install_qemu (QEMU 8 here) without consent: names the source and QEMU, does neither" \
	"$(refused "add the apt source" "then apt-get install -t bookworm-backports qemu-system-x86 (QEMU 8 here")"

# The stub installs nothing, so QEMU is still 8 after it: the run fails after the call.
run SNPSAFE_INSTALL=1 snp_install_qemu
report "snp_install_qemu with SNPSAFE_INSTALL=1: adds the source, installs QEMU from it" \
	"$(called "apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86"
	   [ -f "$SNP_BACKPORTS_LIST" ] || echo "no $SNP_BACKPORTS_LIST")"
QEMU_STUB=

# No QEMU at all, under watch/run.sh's set -euo pipefail: a fresh machine
# ended here with status 127 and not a word.  The function stands for the
# missing command (127), whatever this machine has installed.
export TEST_PRELUDE='set -euo pipefail; qemu-system-x86_64() { return 127; }'
run none snp_install_qemu
report "snp_install_qemu with no QEMU, under set -euo pipefail: refuses in one line naming it, not status 127" \
	"$([ "$rc" -ne 127 ] || echo "status 127"; refused "QEMU is missing here")"
unset TEST_PRELUDE

# On a terminal: asked, and only y goes ahead.  script(1) gives the run a terminal.
on_terminal() {	# on_terminal ANSWER: snp_install busybox-static cpio on a pty, answering
	rm -f "$TEST_APT_LOG"
	printf '%s\n' "$1" | env -u CI -u SNPSAFE_INSTALL PATH="$tmp/stub:$PATH" script -qec \
		"bash -c 'SNP_LOG_PREFIX=test; source $root/scripts/debian.sh; snp_install busybox-static cpio'" \
		/dev/null > "$tmp/tty" 2>&1
	rc=$?
	err=$(tr -d '\r' < "$tmp/tty")
	apt=$(cat "$TEST_APT_LOG" 2>/dev/null)
}
if script -qec true /dev/null < /dev/null > /dev/null 2>&1; then
	on_terminal n
	p=$([ "$rc" -ne 0 ] || echo "exit 0 after 'n'"; [ -z "$apt" ] || echo "apt-get ran: $apt"
	    [[ $err == *"[y/N]"* ]] || echo "no [y/N] question: $err")
	report "on a terminal: asks [y/N]; 'n' stops before apt-get" "$p"
	on_terminal y
	report "on a terminal: 'y' installs" "$(called "$install_line")"
else
	n=$((n + 2)) skipped=$((skipped + 2))
	echo "ok $((n - 1)) on a terminal: asks # SKIP no pseudo-terminal here (script -qec)"
	echo "ok $n on a terminal: 'y' installs # SKIP no pseudo-terminal here"
fi

# Through the built command: watch's first step installs what is missing.
bin=${SNPSAFE_BIN:-}
if [ -x "$bin" ]; then
	watch() {	# watch [FLAG...]: snpsafe watch, stubs first, no terminal, no consent but FLAGs
		rm -f "$TEST_APT_LOG" "$SNP_BACKPORTS_LIST"
		env -u CI -u SNPSAFE_INSTALL PATH="$tmp/stub:$PATH" SNPSAFE_TOP="$root" \
			"$bin" watch --mem 256M --out "$tmp/watch" "$@" < /dev/null > /dev/null 2> "$tmp/err"
		rc=$?
		err=$(cat "$tmp/err")
		apt=$(cat "$TEST_APT_LOG" 2>/dev/null)
	}
	watch
	p=$([ "$rc" -ne 0 ] || echo "exit 0"; [ -z "$apt" ] || echo "apt-get ran: $apt"
	    for w in "watch: FAIL: not done without consent: apt-get install busybox-static cpio" \
		     "zstd" "--install"; do
		    [[ $err == *"$w"* ]] || echo "stderr does not name '$w': $err"
	    done)
	report "snpsafe watch without --install, no terminal: names the packages, runs no apt-get" "$p"
	# It stops later (the stub installs nothing, downloads nothing): the install call is what counts.
	watch --install
	report "snpsafe watch --install: apt-get install runs" \
		"$(grep -q '^apt-get install .*busybox-static cpio' <<< "$apt" ||
			echo "no apt-get install (calls: ${apt:-none}; stderr: $err)")"
else
	n=$((n + 2)) skipped=$((skipped + 2))
	echo "ok $((n - 1)) snpsafe watch without --install # SKIP SNPSAFE_BIN not set (make test sets it)"
	echo "ok $n snpsafe watch --install # SKIP SNPSAFE_BIN not set"
fi

echo "# install: pass:$passed fail:$failed skip:$skipped total:$n"
echo "# totals: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
