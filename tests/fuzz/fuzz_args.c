// SPDX-License-Identifier: MIT
/*
 * fuzz_args.c - libFuzzer target over the snpsafe command line: the input
 * is split at NUL bytes into argv, and cli_main() parses it, dispatches and
 * runs each subcommand's up-front checks with cli_dry_run set (no model
 * work).  Beyond the sanitizers it checks the contract's exit statuses: a
 * dry run ends 0 (a valid line, or --help) or 2 (bad usage), never 1.
 *
 * Build and run: make fuzz-args [FUZZ_TIME=seconds]   (not part of make test)
 */
#include "cli/cli.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_ARGS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[FUZZ_MAX_ARGS + 2], *buf;
	int argc = 1, status;
	size_t start = 0;

	if (size > 4096)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "snpsafe";
	for (size_t i = 0; i <= size && argc <= FUZZ_MAX_ARGS; i++) {
		if (buf[i] != '\0')
			continue;
		argv[argc++] = buf + start;
		start = i + 1;
	}
	argv[argc] = NULL;
	cli_dry_run = true;
	status = cli_main(argc, argv);
	fflush(stdout);
	clearerr(stdout);
	free(buf);
	if (status != CLI_EXIT_OK && status != CLI_EXIT_USAGE)
		__builtin_trap();
	return 0;
}
