/* SPDX-License-Identifier: MIT */
/*
 * cli_util.h - run the built snpsafe command from a test and capture its
 * exit status, stdout and stderr.  The binary comes from $SNPSAFE_BIN (the
 * sanitizer build of the tests uses $SNPSAFE_SAN_BIN when it is set, so a
 * sanitized test drives a sanitized command).
 */
#ifndef SNPSAFE_TESTS_CLI_UTIL_H
#define SNPSAFE_TESTS_CLI_UTIL_H

#include "ktap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define CLI_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CLI_SANITIZED 1
#endif
#endif
#ifndef CLI_SANITIZED
#define CLI_SANITIZED 0
#endif

struct cli_run {
	int status;      /* exit status, or 128+signal */
	char *out;       /* stdout, NUL-terminated */
	char *err;       /* stderr */
};

static const char *cli_bin(void)
{
	const char *b = CLI_SANITIZED ? getenv("SNPSAFE_SAN_BIN") : NULL;

	if (!b || !*b)
		b = getenv("SNPSAFE_BIN");
	if (!b || !*b || access(b, X_OK))
		ktap_skip("SNPSAFE_BIN not set or not executable (run through make test)");
	return b;
}

static char *cli_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, len = 0, n;
	char *buf = malloc(cap);

	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb)
				break;
			buf = nb;
		}
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/*
 * Run "snpsafe ARGS" (ARGS is shell text); stdin is /dev/null.  stdout_to,
 * if not NULL, replaces the capture of stdout (">/dev/full", ">&-"); r.out
 * is then empty.
 */
static struct cli_run cli_run_redir(const char *args, const char *stdout_to)
{
	char out[] = "/tmp/snpsafe-test-out-XXXXXX", err[] = "/tmp/snpsafe-test-err-XXXXXX";
	struct cli_run r = { -1, NULL, NULL };
	int fo = mkstemp(out), fe = mkstemp(err), st;
	char *cmd;
	size_t len;

	if (fo < 0 || fe < 0)
		ktap_skip("mkstemp failed");
	close(fo);
	close(fe);
	len = strlen(cli_bin()) + strlen(args) + 2 * sizeof(out) + 32;
	len += stdout_to ? strlen(stdout_to) : 0;
	cmd = malloc(len);
	if (stdout_to)
		snprintf(cmd, len, "%s %s <%s %s 2>%s", cli_bin(), args, "/dev/null", stdout_to, err);
	else
		snprintf(cmd, len, "%s %s <%s >%s 2>%s", cli_bin(), args, "/dev/null", out, err);
	st = system(cmd);
	free(cmd);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	r.out = cli_slurp(out);
	r.err = cli_slurp(err);
	unlink(out);
	unlink(err);
	if (!r.out || !r.err)
		ktap_skip("could not read the command's output");
	return r;
}

static struct cli_run cli_run(const char *args)
{
	return cli_run_redir(args, NULL);
}

static void cli_run_free(struct cli_run *r)
{
	free(r->out);
	free(r->err);
}

/* Run snpsafe args: it must exit 0, else the case fails and stops.  Its stdout, to free. */
static inline char *cli_run_ok(const char *args)
{
	struct cli_run r = cli_run(args);

	if (r.status) {
		ktap_fail(__FILE__, __LINE__, "'snpsafe %s': status %d, stderr: %s", args, r.status,
			  r.err);
		cli_run_free(&r);
		ktap_abort_case();
	}
	free(r.err);
	return r.out;
}

/*
 * Write text[0..len) to a new file /tmp/snpsafe-test-XXXXXX (path: room for
 * 32 bytes), for a command to read; the caller unlinks it.
 */
static inline void cli_write_temp(const char *text, size_t len, char *path)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/snpsafe-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "wb")))
		ktap_skip("cannot make a temporary file");
	if (fwrite(text, 1, len, f) != len || fclose(f))
		ktap_skip("cannot write a temporary file");
}

/* Lines in s (a final line without newline counts). */
static inline unsigned int cli_lines(const char *s)
{
	size_t len = strlen(s);
	unsigned int n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n + (len && s[len - 1] != '\n');
}

/* How many times needle occurs in s. */
static inline unsigned int cli_count(const char *s, const char *needle)
{
	unsigned int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/*
 * "snpsafe ARGS" to a full and to a closed stdout: exit 3, the run failed,
 * whatever it found (never a finding's 1), and one stderr line saying so.
 */
static inline void cli_expect_write_error(const char *args)
{
	static const char *const to[] = { ">/dev/full", ">&-" };

	for (unsigned int t = 0; t < 2; t++) {
		struct cli_run r = cli_run_redir(args, to[t]);

		if (r.status != 3 || cli_lines(r.err) != 1 || !strstr(r.err, "cannot write"))
			ktap_fail(__FILE__, __LINE__, "'snpsafe %s %s': status %d, stderr '%s'", args,
				  to[t], r.status, r.err);
		cli_run_free(&r);
	}
}

/* Bad usage: exit status 2, nothing on stdout, one line on stderr naming what. */
#define EXPECT_USAGE_ERROR(args, names) do { \
	struct cli_run r_ = cli_run(args); \
	KEXPECT_EQ(r_.status, 2); \
	KEXPECT_EQ(strlen(r_.out), 0); \
	KEXPECT_EQ(cli_lines(r_.err), 1); \
	if (!strstr(r_.err, names)) \
		ktap_fail(__FILE__, __LINE__, "stderr '%s' does not name '%s'", r_.err, names); \
	cli_run_free(&r_); \
} while (0)

#endif
