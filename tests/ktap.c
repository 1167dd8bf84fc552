// SPDX-License-Identifier: MIT
/*
 * ktap.c - the test harness behind tests/ktap.h.  setjmp/longjmp end a case
 * early; nothing else is global but the counters of the running case.
 */
#include "ktap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static jmp_buf case_env;
static unsigned case_failures;
static bool case_skipped;
static const char *skip_reason;

void ktap_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	case_failures++;
	printf("    # %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void ktap_log(const char *fmt, ...)
{
	va_list ap;

	printf("    # ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

_Noreturn void ktap_abort_case(void)
{
	longjmp(case_env, 1);
}

_Noreturn void ktap_skip(const char *reason)
{
	case_skipped = true;
	skip_reason = reason;
	longjmp(case_env, 1);
}

/* setjmp in a frame of its own, so no local of the caller can be clobbered. */
static void run_case(const struct ktap_case *c)
{
	if (setjmp(case_env) == 0)
		c->fn();
}

int ktap_main(const char *suite, const struct ktap_case *cases, size_t n)
{
	unsigned passed = 0, failed = 0, skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n# Subtest: %s\n1..%zu\n", suite, n);
	for (size_t i = 0; i < n; i++) {
		case_failures = 0;
		case_skipped = false;
		run_case(&cases[i]);
		if (case_skipped && !case_failures) {
			skipped++;
			printf("ok %zu %s # SKIP %s\n", i + 1, cases[i].name, skip_reason);
		} else if (case_failures) {
			failed++;
			printf("not ok %zu %s\n", i + 1, cases[i].name);
		} else {
			passed++;
			printf("ok %zu %s\n", i + 1, cases[i].name);
		}
	}
	printf("# %s: pass:%u fail:%u skip:%u total:%zu\n", suite, passed, failed, skipped, n);
	printf("# totals: %u passed, %u failed, %u skipped\n", passed, failed, skipped);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
