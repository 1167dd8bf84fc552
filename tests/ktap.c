// SPDX-License-Identifier: MIT
/*
 * ktap.c - the test harness behind tests/ktap.h.  Each case runs in a child
 * process under a time bound (kselftest_harness.h's __run_test() does the
 * same: fork, alarm in the parent, kill on expiry); setjmp/longjmp end a case
 * early inside its child.  Nothing else is global but the counters of the
 * running case and the page the child leaves a skip reason in.
 */
#include "ktap.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* How a case's child reports: exit status, anything else is a crash. */
enum { KTAP_CHILD_PASS = 0, KTAP_CHILD_FAIL = 64, KTAP_CHILD_SKIP = 65 };
#define KTAP_REASON_LEN 256

static jmp_buf case_env;
static unsigned int case_failures;
static bool case_skipped;
static const char *skip_reason;
static char *shared_reason;   /* MAP_SHARED: the child's skip reason, read by the parent */

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

/* The child: run the case, say how it went by the exit status. */
static _Noreturn void case_child(const struct ktap_case *c)
{
	int status = KTAP_CHILD_PASS;

	case_failures = 0;
	case_skipped = false;
	run_case(c);
	if (case_skipped && !case_failures) {
		snprintf(shared_reason, KTAP_REASON_LEN, "%s", skip_reason ? skip_reason : "");
		status = KTAP_CHILD_SKIP;
	} else if (case_failures) {
		status = KTAP_CHILD_FAIL;
	}
	fflush(stdout);
	exit(status);   /* exit(), not _exit(): a sanitizer's leak check runs per case */
}

static volatile sig_atomic_t alarm_fired;

static void on_alarm(int sig)
{
	(void)sig;
	alarm_fired = 1;   /* and waitpid() returns EINTR */
}

/*
 * Wait for the case's child at most @secs seconds.  Returns 0 with *status,
 * or 1 when the bound expired (the child's process group is then killed and
 * reaped).
 */
static int wait_bounded(pid_t pid, unsigned int secs, int *status)
{
	struct sigaction sa;
	pid_t r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;   /* no SA_RESTART: SIGALRM ends waitpid() */
	sigaction(SIGALRM, &sa, NULL);
	alarm_fired = 0;
	alarm(secs);
	do {
		r = waitpid(pid, status, 0);
	} while (r < 0 && errno == EINTR && !alarm_fired);
	alarm(0);
	if (r == pid)
		return 0;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return 1;
}

/* KTAP_TIMEOUT from the environment, or the built-in default; 0 on bad input. */
static unsigned int default_timeout(void)
{
	const char *s = getenv("KTAP_TIMEOUT");
	char *end;
	unsigned long v;

	if (!s || !*s)
		return KTAP_TIMEOUT_DEFAULT;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 86400 || s[0] == '-')
		return 0;
	return (unsigned int)v;
}

enum ktap_result { KTAP_PASS, KTAP_FAIL, KTAP_SKIP };

/* Run case @i in a child under its bound and print its result line. */
static enum ktap_result run_bounded(const struct ktap_case *c, size_t i, unsigned int secs)
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("not ok %zu %s # fork failed: %s\n", i, c->name, strerror(errno));
		return KTAP_FAIL;
	}
	if (pid == 0) {
		setpgid(0, 0);   /* the case and whatever it spawns: killed together */
		case_child(c);
	}
	setpgid(pid, pid);
	if (wait_bounded(pid, secs, &status)) {
		printf("not ok %zu %s # TIMEOUT: still running after %u s\n", i, c->name, secs);
		return KTAP_FAIL;
	}
	if (WIFSIGNALED(status)) {
		printf("not ok %zu %s # killed by signal %d (%s)\n", i, c->name, WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
		return KTAP_FAIL;
	}
	switch (WEXITSTATUS(status)) {
	case KTAP_CHILD_PASS:
		printf("ok %zu %s\n", i, c->name);
		return KTAP_PASS;
	case KTAP_CHILD_SKIP:
		printf("ok %zu %s # SKIP %s\n", i, c->name, shared_reason);
		return KTAP_SKIP;
	case KTAP_CHILD_FAIL:
		printf("not ok %zu %s\n", i, c->name);
		return KTAP_FAIL;
	default:
		printf("not ok %zu %s # exited with status %d (a sanitizer report?)\n", i, c->name,
		       WEXITSTATUS(status));
		return KTAP_FAIL;
	}
}

int ktap_main(const char *suite, const struct ktap_case *cases, size_t n)
{
	unsigned int counts[3] = { 0, 0, 0 };
	unsigned int dflt = default_timeout();

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!dflt) {
		fprintf(stderr, "ktap: KTAP_TIMEOUT must be a number of seconds, 1..86400\n");
		return 2;
	}
	shared_reason = mmap(NULL, KTAP_REASON_LEN, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared_reason == MAP_FAILED) {
		fprintf(stderr, "ktap: mmap: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	printf("KTAP version 1\n# Subtest: %s\n1..%zu\n", suite, n);
	for (size_t i = 0; i < n; i++) {
		unsigned int secs = cases[i].timeout_s ? cases[i].timeout_s : dflt;

		shared_reason[0] = '\0';
		counts[run_bounded(&cases[i], i + 1, secs)]++;
	}
	munmap(shared_reason, KTAP_REASON_LEN);
	printf("# %s: pass:%u fail:%u skip:%u total:%zu\n", suite, counts[KTAP_PASS],
	       counts[KTAP_FAIL], counts[KTAP_SKIP], n);
	printf("# totals: %u passed, %u failed, %u skipped\n", counts[KTAP_PASS],
	       counts[KTAP_FAIL], counts[KTAP_SKIP]);
	return counts[KTAP_FAIL] ? EXIT_FAILURE : EXIT_SUCCESS;
}
