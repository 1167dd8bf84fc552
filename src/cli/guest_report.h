/* SPDX-License-Identifier: MIT */
/*
 * guest_report.h - the guest side of `snpsafe simulate` (--guest): VMSAs an
 * SNP guest allocates for its own vCPUs, per guest strategy, at boot (a fresh
 * guest allocator) and after ageing (vCPU hotplug later in the guest's life).
 */
#ifndef SNPSAFE_CLI_GUEST_REPORT_H
#define SNPSAFE_CLI_GUEST_REPORT_H

#include "cli.h"

#include <snpsafe/guest_vmsa.h>

#define CLI_GUEST_MEM     (256 * SNP_MiB)
#define CLI_GUEST_ROUNDS  4u
#define CLI_GUEST_APS     63u   /* a 64-vCPU guest: the BSP's VMSA comes from the launch */

struct cli_guest_row {
	enum guest_vmsa_strategy strategy;
	bool aged;
	struct guest_vmsa_result r;
};

struct cli_guest_report {
	unsigned int n;
	struct cli_guest_row rows[2 * GUEST_VMSA_NR_STRATEGIES];
};

/* "all", "off" or one strategy name into a mask of strategies; 0 or SNP_EINVAL. */
SNP_MUST_CHECK int cli_guest_parse(const char *v, unsigned int *mask);
#define CLI_GUEST_HELP_MAX 192
#define CLI_GUEST_VALID_MAX 96
/* --guest's help line and valid values, from guest_vmsa_strategy_name()'s table. */
void cli_guest_option_text(char *help, size_t hlen, char *valid, size_t vlen);
/* Run each strategy in @mask at boot and aged, CLI_GUEST_APS APs, @seed; 0 or a code. */
SNP_MUST_CHECK int cli_guest_simulate(unsigned int mask, uint64_t seed, struct cli_guest_report *out);
void cli_guest_print_text(const struct cli_guest_report *g);
/* Adds the key "guest" to the open JSON object. */
void cli_guest_print_json(struct json *j, const struct cli_guest_report *g);

#endif
