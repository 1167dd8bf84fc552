/* SPDX-License-Identifier: MIT */
/*
 * ktap.h - snpsafe's own test harness, printing KTAP (the kernel's TAP dialect,
 * Documentation/dev-tools/ktap.rst) in the shape KUnit uses: one suite per test
 * binary, one numbered case per test function.
 *
 * A case is a void function; KEXPECT_* record a failure and go on, KASSERT_*
 * record a failure and end the case.  ktap_main() runs the table and returns
 * the process exit status (non-zero if any case failed).  The last line a
 * binary prints is "# totals: P passed, F failed, S skipped", which
 * tests/run.sh adds up into the single closing line of a run.
 *
 * Each case runs in a child process under a time bound, as the kernel's
 * tools/testing/selftests/kselftest_harness.h runs a TEST (fork, alarm,
 * waitpid, "# TIMEOUT"): a case that livelocks or crashes is reported
 * "not ok" with the reason, and the binary goes on with the next case.  The
 * bound is KTAP_TIMEOUT_DEFAULT seconds, the environment's KTAP_TIMEOUT when
 * set, or the case's own (KTAP_CASE_TIMEOUT).  Cases share no state: each
 * starts from the parent's state before the first case.
 */
#ifndef SNPSAFE_TESTS_KTAP_H
#define SNPSAFE_TESTS_KTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ktap_case {
	const char *name;
	void (*fn)(void);
	unsigned int timeout_s;   /* 0: the default bound */
};

/* Seconds a case may run by default (sanitizer builds included). */
#define KTAP_TIMEOUT_DEFAULT 120u

#define KTAP_CASE(fn) { #fn, fn, 0 }
/* A case with its own bound, for one known to run long. */
#define KTAP_CASE_TIMEOUT(fn, seconds) { #fn, fn, seconds }
#define KTAP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int ktap_main(const char *suite, const struct ktap_case *cases, size_t n);
#define KTAP_MAIN(suite, cases) \
	int main(void) { return ktap_main(suite, cases, KTAP_ARRAY_SIZE(cases)); }

/* Record a failure of the running case (used by the macros below). */
void ktap_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* End the running case now (after a failed KASSERT, or to skip). */
_Noreturn void ktap_abort_case(void);
/* Mark the running case skipped, with a reason, and end it. */
_Noreturn void ktap_skip(const char *reason);
/* Print a diagnostic line ("# ...") inside the running case. */
void ktap_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define KEXPECT(cond) do { \
	if (!(cond)) ktap_fail(__FILE__, __LINE__, "expected %s", #cond); \
} while (0)

#define KEXPECT_EQ(a, b) do { \
	long long ka_ = (long long)(a), kb_ = (long long)(b); \
	if (ka_ != kb_) ktap_fail(__FILE__, __LINE__, "expected %s == %s (%lld vs %lld)", \
				  #a, #b, ka_, kb_); \
} while (0)

#define KEXPECT_NE(a, b) do { \
	long long ka_ = (long long)(a), kb_ = (long long)(b); \
	if (ka_ == kb_) ktap_fail(__FILE__, __LINE__, "expected %s != %s (both %lld)", \
				  #a, #b, ka_); \
} while (0)

#define KASSERT(cond) do { \
	if (!(cond)) { ktap_fail(__FILE__, __LINE__, "assertion %s", #cond); ktap_abort_case(); } \
} while (0)

#define KASSERT_EQ(a, b) do { \
	long long ka_ = (long long)(a), kb_ = (long long)(b); \
	if (ka_ != kb_) { \
		ktap_fail(__FILE__, __LINE__, "assertion %s == %s (%lld vs %lld)", #a, #b, ka_, kb_); \
		ktap_abort_case(); \
	} \
} while (0)

#endif
