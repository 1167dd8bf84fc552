// SPDX-License-Identifier: MIT
/*
 * dispatch.c - the snpsafe command line: the subcommands, "help [CMD]",
 * --help and --version.  main.c wraps it in a process; the argument fuzzer
 * (tests/fuzz/) calls it directly.
 */
#include "cli.h"

#include <string.h>

#define SNPSAFE_VERSION "0.1.0"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "repro",    cmd_repro,    "reproduce the erratum end to end, then the fix" },
	{ "simulate", cmd_simulate, "Monte Carlo over modeled hosts: how often it strikes" },
	{ "explain",  cmd_explain,  "the reviewer's open questions, answered by experiment" },
	{ "bench",    cmd_bench,    "allocator cost, model speed and a scale run" },
	{ "watch",    cmd_watch,    "real Linux kvm_amd under QEMU TCG, its accesses recorded" },
	{ "host",     cmd_host,     "is this machine exposed to the erratum? (facts, verdict)" },
	{ "replay",   cmd_replay,   "judge a recorded real kernel (a watch trace) with the model" },
	{ "merge",    cmd_merge,    "put a simulate run's shards together: the whole run's output" },
};

#define NR_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

/* What each exit status means, for --help; the values are cli.h's. */
static const struct {
	int status;
	const char *meaning;
} exit_codes[] = {
	{ CLI_EXIT_OK,      "done; host: not exposed; replay: no RMP #PF possible in the trace" },
	{ CLI_EXIT_FINDING, "a finding: host: exposed; replay: an RMP #PF is possible (or proven)" },
	{ CLI_EXIT_USAGE,   "bad usage or input: a flag or value, a run too large for this machine,\n"
			    "     or a file named on the line that cannot be used (TRACE, --root, --svg,\n"
			    "     merge's FILEs)" },
	{ CLI_EXIT_FAIL,    "the run failed, or its output could not be written (stdout full or closed)" },
};

static void usage(void)
{
	printf("usage: snpsafe <command> [options]\n"
	       "       snpsafe help [command] | --help | --version\n\n"
	       "A model of AMD SEV-SNP's in-use erratum and of the SNP-safe page allocator.\n\n"
	       "commands:\n");
	for (size_t i = 0; i < NR_SUBCOMMANDS; i++)
		printf("  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	printf("\nexit status, every command:\n");
	for (size_t i = 0; i < sizeof(exit_codes) / sizeof(exit_codes[0]); i++)
		printf("  %d  %s\n", exit_codes[i].status, exit_codes[i].meaning);
	printf("\n'snpsafe <command> --help' or 'snpsafe help <command>' for a command's options.\n");
}

/* "repro, simulate, ..." from the table, so no message lists a stale set. */
static const char *command_list(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NR_SUBCOMMANDS && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
					subcommands[i].name);
	return buf;
}

static const struct subcommand *find_subcommand(const char *name)
{
	for (size_t i = 0; i < NR_SUBCOMMANDS; i++)
		if (!strcmp(name, subcommands[i].name))
			return &subcommands[i];
	return NULL;
}

/* "snpsafe help [CMD]": the general usage, or CMD's own --help. */
static SNP_MUST_CHECK int help(int argc, char **argv)
{
	const struct subcommand *sc;
	char *args[] = { NULL, "--help", NULL };
	char list[128];

	if (argc > 3)
		return cli_usage_error("help", "unexpected argument '%s'", argv[3]);
	if (argc < 3 || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
		usage();
		return CLI_EXIT_OK;
	}
	sc = find_subcommand(argv[2]);
	if (!sc)
		return cli_usage_error("help", "unknown command '%s' (one of: %s)", argv[2],
				       command_list(list, sizeof(list)));
	args[0] = argv[2];
	return sc->fn(2, args);
}

int cli_main(int argc, char **argv)
{
	const struct subcommand *sc;
	bool is_help, is_version;
	char list[128];

	if (argc < 2) {
		fprintf(stderr, "usage: snpsafe <command> [options]  (commands: %s; "
				"'snpsafe --help' for more)\n", command_list(list, sizeof(list)));
		return CLI_EXIT_USAGE;
	}
	is_help = !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h");
	is_version = !strcmp(argv[1], "--version");
	if ((is_help || is_version) && argc > 2)
		return cli_usage_error(NULL, "unexpected argument '%s' after %s", argv[2], argv[1]);
	if (is_help) {
		usage();
		return CLI_EXIT_OK;
	}
	if (is_version) {
		printf("snpsafe %s\n", SNPSAFE_VERSION);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "help"))
		return help(argc, argv);
	sc = find_subcommand(argv[1]);
	if (sc)
		return sc->fn(argc - 1, argv + 1);
	return cli_usage_error(NULL, "unknown command '%s' (see 'snpsafe --help')", argv[1]);
}
