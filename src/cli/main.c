// SPDX-License-Identifier: MIT
/*
 * main.c - the snpsafe command: reproduce the SNP in-use erratum, simulate
 * how often it strikes, answer the reviewer's open questions by experiment,
 * and measure the SNP-safe allocators.
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
};

static void usage(FILE *f)
{
	fprintf(f, "usage: snpsafe <command> [options]\n\n"
		   "A model of AMD SEV-SNP's in-use erratum and of the SNP-safe page allocator.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'snpsafe <command> --help' for a command's options; 'snpsafe --version'.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("snpsafe %s\n", SNPSAFE_VERSION);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	return cli_usage_error(NULL, "unknown command '%s' (see 'snpsafe --help')", argv[1]);
}
