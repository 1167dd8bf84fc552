// SPDX-License-Identifier: MIT
/*
 * args.c - option parsing for the subcommands.  Every mistake is reported
 * on one stderr line that names the flag or value, with exit status 2.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void vreport(const char *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "snpsafe%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cmd, fmt, ap);
	va_end(ap);
	return CLI_EXIT_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cmd, fmt, ap);
	va_end(ap);
	return CLI_EXIT_FAIL;
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return SNP_EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return SNP_ERANGE;
	if (*end)
		return SNP_EINVAL;
	if (v < min || v > max)
		return SNP_ERANGE;
	*out = v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	unsigned int shift = 0;
	const char *u;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return SNP_EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return SNP_ERANGE;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return SNP_EINVAL;
		shift = 10 * (unsigned int)(u - units + 1);
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
		if (*end)
			return SNP_EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return SNP_ERANGE;
	v <<= shift;
	if (v < min || v > max)
		return SNP_ERANGE;
	*out = v;
	return 0;
}

const char *cli_join_names(const char *(*name)(unsigned int i), unsigned int n, char *buf,
			   size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", name(i));
	return buf;
}

const char *cli_fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	double v = (double)bytes;
	int u = -1;

	while (v >= 1024.0 && u < 3) {
		v /= 1024.0;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.4g %ciB", v, units[u]);
	return buf;
}

/* pos_usage: the positional arguments as the usage line shows them ("TRACE"), or NULL. */
static void print_help(const char *cmd, const char *pos_usage, const char *synopsis,
		       const struct cli_option *opts, void (*extra_help)(void))
{
	printf("usage: snpsafe %s%s%s%s\n\n%s", cmd, pos_usage ? " " : "", pos_usage ? pos_usage : "",
	       opts[0].name ? " [options]" : "", synopsis);
	if (opts[0].name)
		printf("\noptions:\n");
	for (const struct cli_option *o = opts; o->name; o++) {
		char left[48];

		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->takes_value ? " " : "",
			 o->takes_value ? o->help_arg : "");
		printf("  %-24s %s\n", left, o->help);
	}
	printf("  %-24s %s\n", "--help", "show this help and exit");
	if (extra_help)
		extra_help();
}

static const struct cli_option *find_option(const struct cli_option *opts, const char *name,
					    size_t len)
{
	for (const struct cli_option *o = opts; o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	return NULL;
}

/*
 * A separate argument that reads as an option ("--json", "-x") is not taken
 * as a value: "--svg --json" would otherwise write a file named "--json".
 * Negative numbers ("-1") reach the value parser, which refuses them.
 */
static bool looks_like_option(const char *v)
{
	return v[0] == '-' && v[1] && !isdigit((unsigned char)v[1]);
}

/* The value of option o at argv[*i] (consuming a separate one), or NULL after an error. */
static const char *option_value(const char *cmd, int argc, char **argv, int *i,
				const struct cli_option *o, const char *eq)
{
	const char *value;

	if (eq) {
		value = eq + 1;
	} else if (*i + 1 < argc && !looks_like_option(argv[*i + 1])) {
		value = argv[++*i];
	} else {
		if (*i + 1 < argc)
			cli_usage_error(cmd, "option '--%s' needs a value (%s), not the option '%s' "
					"(write --%s=%s if that is the value)", o->name, o->help_arg,
					argv[*i + 1], o->name, argv[*i + 1]);
		else
			cli_usage_error(cmd, "option '--%s' needs a value (%s)", o->name, o->help_arg);
		return NULL;
	}
	if (!*value) {
		cli_usage_error(cmd, "empty value for --%s (valid: %s)", o->name,
				o->valid ? o->valid : o->help_arg);
		return NULL;
	}
	return value;
}

/* One "--name[=value]" at argv[*i]; consumes the value argument if separate. */
static SNP_MUST_CHECK int parse_one(const char *cmd, int argc, char **argv, int *i,
		     const struct cli_option *opts, void *ctx)
{
	const char *arg = argv[*i] + 2, *eq = strchr(arg, '='), *value = NULL;
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct cli_option *o = find_option(opts, arg, len);
	int ret;

	if (!o)
		return cli_usage_error(cmd, "unknown option '--%.*s' (see 'snpsafe %s --help')",
				       (int)len, arg, cmd);
	if (!o->takes_value) {
		if (eq)
			return cli_usage_error(cmd, "option '--%s' takes no value", o->name);
	} else {
		value = option_value(cmd, argc, argv, i, o, eq);
		if (!value)
			return CLI_EXIT_USAGE;
	}
	ret = o->set(ctx, value);
	if (ret == CLI_EXIT_USAGE)
		return ret;
	if (ret)
		return cli_usage_error(cmd, "bad value '%s' for --%s (%svalid: %s)", value ? value : "",
				       o->name, ret == SNP_ERANGE ? "out of range; " : "",
				       o->valid ? o->valid : o->help_arg);
	return 0;
}

int cli_parse_args_pos(const char *cmd, const char *pos_usage, int argc, char **argv,
		       const struct cli_option *opts, void *ctx, const char *synopsis,
		       void (*extra_help)(void), const char **positional, int max_pos, int *nr_pos)
{
	bool help = false;
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int ret;

		/* --help wins only over a valid line: "--help --bogus" is a mistake too. */
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			help = true;
			continue;
		}
		if (!strncmp(a, "--", 2) && a[2]) {
			ret = parse_one(cmd, argc, argv, &i, opts, ctx);
			if (ret)
				return ret;
			continue;
		}
		if (a[0] == '-' && a[1])
			return cli_usage_error(cmd, "unknown option '%s' (see 'snpsafe %s --help')", a, cmd);
		if (npos >= max_pos)
			return cli_usage_error(cmd, "unexpected argument '%s'", a);
		positional[npos++] = a;
	}
	if (help) {
		print_help(cmd, pos_usage, synopsis, opts, extra_help);
		return -1;
	}
	if (nr_pos)
		*nr_pos = npos;
	return 0;
}

int cli_parse_args_ex(const char *cmd, int argc, char **argv, const struct cli_option *opts,
		      void *ctx, const char *synopsis, void (*extra_help)(void),
		      const char **positional, int max_pos, int *nr_pos)
{
	return cli_parse_args_pos(cmd, NULL, argc, argv, opts, ctx, synopsis, extra_help,
				  positional, max_pos, nr_pos);
}

int cli_parse_args(const char *cmd, int argc, char **argv, const struct cli_option *opts,
		   void *ctx, const char *synopsis, const char **positional, int max_pos,
		   int *nr_pos)
{
	return cli_parse_args_ex(cmd, argc, argv, opts, ctx, synopsis, NULL, positional, max_pos,
				 nr_pos);
}

/* ---- Errors and output ---------------------------------------------------------------- */

bool cli_dry_run;

int cli_finish_stdout(int status)
{
	int err = 0;

	if (fflush(stdout))
		err = errno;
	if (ferror(stdout) && !err)
		err = errno ? errno : EIO;
	if (!err)
		return status;
	fprintf(stderr, "snpsafe: cannot write the output: %s\n", strerror(err));
	return status == CLI_EXIT_OK || status == CLI_EXIT_FINDING ? CLI_EXIT_FAIL : status;
}

void cli_progress_init(struct cli_progress *p, uint64_t total)
{
	struct winsize ws;

	p->enabled = isatty(STDERR_FILENO) && total > 0;
	p->total = total;
	p->width = 80;
	if (!ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 1)
		p->width = ws.ws_col - 1;   /* the last column would wrap on some terminals */
	if (p->width >= sizeof(p->last))
		p->width = sizeof(p->last) - 1;
	p->last[0] = '\0';
}

/* Redraw the progress line when its text changed: back to column 0, the line, erase the rest. */
void cli_progress_show(struct cli_progress *p, const char *line)
{
	if (!p->enabled || !strcmp(line, p->last))
		return;
	snprintf(p->last, sizeof(p->last), "%s", line);
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
}

void cli_progress_done(struct cli_progress *p)
{
	if (p->enabled && p->last[0])
		fprintf(stderr, "\r\033[K");
}
