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

/* "stores into VMRUN regions: ..." lines of replay's and watch's text. */
void cli_region_print_text(const struct sim_replay_region_stores *s);
/* The key "vmrun_region_stores" (docs/REPLAY.md "Stores into VMRUN regions"). */
void cli_region_json(struct json *j, const struct sim_replay_region_stores *s);

#endif
