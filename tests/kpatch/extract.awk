# SPDX-License-Identifier: MIT
#
# extract.awk - the code a kvm_amd patch adds to arch/x86/kvm/svm/sev.c, as
# C that tests/kpatch/kpatch_sieve.c compiles against its shim of the kernel
# (the way tools/testing/memblock compiles mm/memblock.c), so that a test
# can run the patch's own code beside the model's strategy core.
#
#   awk -v patch=PATH -f extract.awk PATH > kpatch_sieve.c
#
# What is taken: in the sev.c part of the patch, the new file's lines (the
# '+' lines and the context lines among them) from the first '+' line that
# is not an #include to the last '+' line; '-' lines and #include lines are
# left out.  Context lines count: a hunk keeps unchanged lines of a function
# the patch rewrites (snp_safe_alloc_pair()'s body), and the '+' lines alone
# would not compile.  Lines of sev.c the patch does not show at all (between
# two hunks) are not in the output either; a #line directive before every
# line that does not follow its predecessor in the patch keeps the
# compiler's messages on the patch file, and a comment marks each such gap.
# No '+' line, or the sev.c part missing: exit 1, so the build fails.
BEGIN { file = "arch/x86/kvm/svm/sev.c"; started = 0; npend = 0; last = -1; found = 0 }

# One line of output, with its line number in the patch.
function emit(nr, text) {
	if (nr != last + 1)
		printf "#line %d \"%s\"\n", nr, patch
	print text
	last = nr
}

/^diff --git / { insev = ($3 == "a/" file); inhunk = 0; next }
!insev { next }
/^@@ / {
	split($3, nw, ",")
	c = substr(nw[1], 2) + 0
	if (inhunk && c != nextnew && started) {
		pend_nr[npend] = -1
		pend_tx[npend++] = sprintf("/* kpatch: %d line(s) of %s not in the patch */", c - nextnew, file)
	}
	nextnew = c
	inhunk = 1
	next
}
!inhunk { next }
/^-/ || /^\\/ { next }
/^[+ ]/ || /^$/ {
	text = substr($0, 2)
	plus = substr($0, 1, 1) == "+"
	nextnew++
	if (text ~ /^#include/)
		next
	if (!started) {
		if (!plus)
			next
		started = 1
	}
	if (!plus) {
		pend_nr[npend] = NR
		pend_tx[npend++] = text
		next
	}
	for (i = 0; i < npend; i++) {
		if (pend_nr[i] < 0) {
			print pend_tx[i]
			last = -1
		} else {
			emit(pend_nr[i], pend_tx[i])
		}
	}
	npend = 0
	emit(NR, text)
	found = 1
}
END {
	if (!found) {
		printf "extract.awk: no code added to %s in %s\n", file, patch > "/dev/stderr"
		exit 1
	}
}
