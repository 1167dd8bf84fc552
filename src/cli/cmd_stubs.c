// SPDX-License-Identifier: MIT
/* Temporary: subcommands not built yet say so and fail. */
#include "cli.h"
int cmd_bench(int argc, char **argv) { return cli_fail("bench", "not built yet"); }
