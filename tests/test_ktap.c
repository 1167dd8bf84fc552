// SPDX-License-Identifier: MIT
/*
 * test_ktap.c - the harness itself (tests/ktap.c): a case that never ends is
 * stopped at its bound and reported "not ok ... # TIMEOUT", a case killed by
 * a signal is "not ok" with the signal, and the binary goes on with the next
 * case and ends with the right totals.  The cases under test run in a child
 * process of this binary (argv[1] picks the inner suite), so the outer cases
 * read its KTAP output as run.sh would.  Nothing here measures time: the
 * slow case never finishes, so only the bound can end it.
 */
#include "ktap.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the inner suites (run in a child) ---- */

static void inner_pass(void)
{
	KEXPECT(1 + 1 == 2);
}

static void inner_livelock(void)
{
	for (;;)
		pause();
}

static void inner_after(void)
{
	KEXPECT(2 + 2 == 4);
}

static void inner_signal(void)
{
	raise(SIGKILL);
}

static void inner_fail(void)
{
	KEXPECT(1 == 2);
}

static void inner_skip(void)
{
	ktap_skip("not here");
}

static const struct ktap_case inner_cases[] = {
	KTAP_CASE(inner_pass),
	KTAP_CASE_TIMEOUT(inner_livelock, 1),
	KTAP_CASE(inner_after),
	KTAP_CASE(inner_signal),
	KTAP_CASE(inner_fail),
	KTAP_CASE(inner_skip),
	KTAP_CASE(inner_after),
};

/* Only the default bound: the environment's KTAP_TIMEOUT sets it. */
static const struct ktap_case inner_env_cases[] = {
	KTAP_CASE(inner_livelock),
	KTAP_CASE(inner_pass),
};

/* ---- the outer suite ---- */

static char self[512];
static char out[8192];

/* Run this binary with @args (and @env before it); its output in out[], its exit status. */
static int run_inner(const char *env, const char *args)
{
	char cmd[1200];
	size_t len = 0, n;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "%s '%s' %s 2>&1", env, self, args);
	f = popen(cmd, "r");
	KASSERT(f != NULL);
	while ((n = fread(out + len, 1, sizeof(out) - 1 - len, f)) > 0)
		len += n;
	out[len] = '\0';
	st = pclose(f);
	KASSERT(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Is @line one whole line of out[]? */
static bool has_line(const char *line)
{
	size_t len = strlen(line);

	for (const char *p = out; (p = strstr(p, line)) != NULL; p++)
		if ((p == out || p[-1] == '\n') && (p[len] == '\n' || p[len] == '\0'))
			return true;
	return false;
}

/* The inner output as diagnostics, so its lines cannot be read as ours. */
static void log_inner(void)
{
	char copy[sizeof(out)];

	memcpy(copy, out, sizeof(copy));
	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		ktap_log("| %s", l);
}

static void ktap_livelock_times_out_and_suite_goes_on(void)
{
	KEXPECT_EQ(run_inner("", "--inner"), EXIT_FAILURE);
	log_inner();
	KEXPECT(has_line("ok 1 inner_pass"));
	KEXPECT(has_line("not ok 2 inner_livelock # TIMEOUT: still running after 1 s"));
	KEXPECT(has_line("ok 3 inner_after"));
	KEXPECT(has_line("not ok 4 inner_signal # killed by signal 9 (Killed)"));
	KEXPECT(has_line("not ok 5 inner_fail"));
	KEXPECT(has_line("ok 6 inner_skip # SKIP not here"));
	KEXPECT(has_line("ok 7 inner_after"));
	KEXPECT(has_line("# totals: 3 passed, 3 failed, 1 skipped"));
}

static void ktap_timeout_from_environment(void)
{
	KEXPECT_EQ(run_inner("KTAP_TIMEOUT=1", "--inner-env"), EXIT_FAILURE);
	KEXPECT(has_line("not ok 1 inner_livelock # TIMEOUT: still running after 1 s"));
	KEXPECT(has_line("ok 2 inner_pass"));
	KEXPECT(has_line("# totals: 1 passed, 1 failed, 0 skipped"));
}

static void ktap_bad_timeout_is_usage_error(void)
{
	static const char *const bad[] = { "KTAP_TIMEOUT=abc", "KTAP_TIMEOUT=0",
					   "KTAP_TIMEOUT=-5", "KTAP_TIMEOUT=1x" };

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(bad); i++) {
		KEXPECT_EQ(run_inner(bad[i], "--inner-env"), 2);
		KEXPECT(has_line("ktap: KTAP_TIMEOUT must be a number of seconds, 1..86400"));
		KEXPECT(strstr(out, "inner_livelock") == NULL);
	}
}

static const struct ktap_case cases[] = {
	KTAP_CASE(ktap_livelock_times_out_and_suite_goes_on),
	KTAP_CASE(ktap_timeout_from_environment),
	KTAP_CASE(ktap_bad_timeout_is_usage_error),
};

int main(int argc, char **argv)
{
	ssize_t n;

	if (argc == 2 && strcmp(argv[1], "--inner") == 0)
		return ktap_main("ktap_inner", inner_cases, KTAP_ARRAY_SIZE(inner_cases));
	if (argc == 2 && strcmp(argv[1], "--inner-env") == 0)
		return ktap_main("ktap_inner_env", inner_env_cases, KTAP_ARRAY_SIZE(inner_env_cases));
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		perror("readlink /proc/self/exe");
		return EXIT_FAILURE;
	}
	self[n] = '\0';
	return ktap_main("ktap", cases, KTAP_ARRAY_SIZE(cases));
}
