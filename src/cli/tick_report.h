/* SPDX-License-Identifier: MIT */
/*
 * tick_report.h - the tick in real time (docs/MODEL.md "The tick in real
 * time"): the measured side, a watched run's stores into VMRUN regions per
 * second (replay and watch print it), and simulate's side, its own stores
 * into VMRUN regions per tick, the tick they define, and the time to a
 * host's first spurious #PF.
 */
#ifndef SNPSAFE_CLI_TICK_REPORT_H
#define SNPSAFE_CLI_TICK_REPORT_H

#include "cli.h"

#include <snpsafe/replay.h>
#include <snpsafe/sim.h>

/* "stores into VMRUN regions: ..." lines of replay's and watch's text. */
void cli_region_print_text(const struct sim_replay_region_stores *s);
/* The key "vmrun_region_stores" (docs/REPLAY.md "Stores into VMRUN regions"). */
void cli_region_json(struct json *j, const struct sim_replay_region_stores *s);

/* simulate's "Time" section: the tick in real time and the time to a first spurious #PF. */
void cli_tick_print_text(const struct sim_mc_result *r, unsigned int n, unsigned int ticks);
/* The key "time" of one simulate result (docs/MODEL.md "The tick in real time"). */
void cli_tick_json(struct json *j, const struct sim_mc_result *r);

/*
 * watch's model estimate: its tick calibrated by this run's own rate (rate:
 * proven, possible) beside the churn tick it assumes (churn_s), as text
 * lines and as the estimate's key "tick_calibrated" (the estimate's own ticks
 * are churn ticks, so no time to a fault is printed for them).
 */
void cli_tick_watch_text(const struct sim_mc_result *r, const double *rate, double churn_s);
void cli_tick_watch_json(struct json *j, const struct sim_mc_result *r, const double *rate);

#endif
