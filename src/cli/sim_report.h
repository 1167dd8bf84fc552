/* SPDX-License-Identifier: MIT */
/*
 * sim_report.h - what `snpsafe simulate` found, said plainly: the summary
 * line, the warning when the trials count for few independent hosts, and
 * the legend of every results table.
 */
#ifndef SNPSAFE_CLI_SIM_REPORT_H
#define SNPSAFE_CLI_SIM_REPORT_H

#include "cli.h"

#include <snpsafe/sim.h>

/* Under this many effective hosts the intervals rest on too few independent layouts. */
#define CLI_SIM_FEW_HOSTS 10

/* Did the trials start from shared aged allocators (so that they are correlated)? */
bool cli_sim_shared(const struct sim_mc_result *r);
/* "31", "10.4": an effective host count. */
const char *cli_sim_hosts_text(double hosts, char *buf, size_t len);
/* The summary line (no newline) into buf. */
const char *cli_sim_summary(const struct sim_mc_result *r, unsigned int n, char *buf, size_t len);
/*
 * With shared ageing and a strategy under CLI_SIM_FEW_HOSTS effective
 * hosts: the warning (no prefix, no newline) into buf, true.  Else false.
 */
bool cli_sim_few_hosts(const struct sim_mc_config *mc, const struct sim_mc_result *r, unsigned int n,
		       char *buf, size_t len);
/* Adds the key "summary" to the open JSON object: the line's numbers, and the warning or null. */
void cli_sim_json_summary(struct json *j, const struct sim_mc_config *mc, const struct sim_mc_result *r,
			  unsigned int n);

/* ---- shards (simulate --shard, merge) -------------------------------------------- */

/* One trial's raw counts as a JSON object of the "trials" array of a shard. */
void cli_shard_json_trial(struct json *j, enum snp_alloc_strategy s, unsigned int t,
			  const struct sim_mc_trial *c);
/*
 * The whole run's output (text, or JSON with json) from its config (a
 * shard's "config" object, read from path) and every trial's counts
 * (strategy-major): what simulate with that config prints.  An exit code.
 */
int cli_simulate_merged(const char *path, const struct json_node *config, const struct sim_mc_trial *trials,
			bool json);
/* The file at path, at most max bytes, NUL-terminated; NULL after its one line ("snpsafe CMD: WHATpath: ..."). */
char *cli_slurp(const char *cmd, const char *what, const char *path, size_t max, size_t *len);
/*
 * Read and parse a --boot-dump FILE (kvm_boot_dump_parse()) for a host of
 * @mem_bytes; *hash: FNV-1a of its bytes, to tell dumps apart (may be
 * NULL).  0, or CLI_EXIT_USAGE with the reason said on stderr.
 */
struct kvm_boot_dump;
SNP_MUST_CHECK int cli_boot_dump_load(const char *cmd, const char *path, uint64_t mem_bytes,
				      struct kvm_boot_dump **out, uint64_t *hash);

/* The legends of simulate's tables, in the order they are printed. */
void cli_sim_legend_main(bool shared);
void cli_sim_legend_rates(bool shared);
void cli_sim_legend_outcomes(void);
void cli_sim_legend_kinds(void);

#endif
