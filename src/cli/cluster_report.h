/* SPDX-License-Identifier: MIT */
/*
 * cluster_report.h - vmcb01 clustering as simulate, watch and merge print
 * it, and merge's pooling of watch runs into the three columns of issue 25
 * item 4: measured, model, uniform page (merge_watch.c; docs/WATCH.md,
 * "Pooling boots: three columns").
 */
#ifndef SNPSAFE_CLI_CLUSTER_REPORT_H
#define SNPSAFE_CLI_CLUSTER_REPORT_H

#include "cli.h"

#include <snpsafe/cluster.h>

/* "KEY": the clustering's counts and its four statistics. */
void cli_json_cluster(struct json *j, const char *key, const struct sim_cluster *c);

/* ---- merge: watch --json runs of one kernel and configuration ----------------------- */

struct merge_watch;

/* Is doc a `watch --json` output (it has "measured" and "model_estimate")? */
bool merge_is_watch(const struct json_node *doc);
/*
 * Add one run (doc stays the caller's): its measured counts and its model's
 * hosts (a model run already added, same seed, age and hosts, is not added
 * again).  0, or CLI_EXIT_USAGE after one line naming path (a run given
 * twice, a key missing).
 */
int merge_watch_add(struct merge_watch **mw, const char *path, const struct json_node *doc);
/* The three columns and their tests, text or JSON, on stdout; 0 or an exit status. */
int merge_watch_report(const struct merge_watch *mw, const struct json_node *first, bool json);
void merge_watch_free(struct merge_watch *mw);

/* A whole number (or the decimal string the JSON contract writes above 2^53) up to max. */
bool merge_read_u64(const struct json_node *v, uint64_t max, uint64_t *out);

#endif
