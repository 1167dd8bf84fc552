// SPDX-License-Identifier: MIT
/*
 * fuzz_config.c - libFuzzer target over simulate's scenario files: the input
 * is the file `simulate --config FILE` reads (held in a memfd, named by its
 * /proc/self/fd path), run with cli_dry_run set, so the JSON reader
 * (src/cli/json_read.c) and the config's keys, each through its flag's
 * parser, see it and no model work follows.  Beyond the sanitizers it checks
 * that the run ends 0 (a valid scenario) or 2 (a refused one), never 1.
 *
 * Build and run: make fuzz-config [FUZZ_TIME=seconds]   (not part of make test)
 */
#include "cli/cli.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	char *argv[] = { "snpsafe", "simulate", "--config", path, NULL };
	int fd = memfd_create("scenario", 0), status;

	if (fd < 0)
		return 0;
	if (size > 65536 || write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	cli_dry_run = true;
	status = cli_main(4, argv);
	fflush(stdout);
	clearerr(stdout);
	close(fd);
	if (status != CLI_EXIT_OK && status != CLI_EXIT_USAGE)
		__builtin_trap();
	return 0;
}
