/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/sim.h - experiments on the model: the reviewer's open questions
 * (explain), the changelog's scenario end to end (repro), Monte Carlo over
 * modeled hosts (simulate) and measurements (bench).  The snpsafe command is
 * a thin printer over these.
 */
#ifndef SNPSAFE_SIM_H
#define SNPSAFE_SIM_H

#include <snpsafe/common.h>
#include <snpsafe/profile.h>
#include <snpsafe/snp_alloc.h>

/* ---- explain: one experiment per open question (LKML-REVIEW; snp-facts §1) ---- */

#define SIM_MAX_OUTCOMES 4
#define SIM_RESULT_LEN 512

struct sim_outcome {
	const char *setting;          /* "uncovered_inuse=ignore (default)" */
	char result[SIM_RESULT_LEN];  /* what the model did, from the run */
	bool documented;              /* a public source states this behaviour */
	const char *source;           /* that source, or why it is assumed */
};

struct sim_question {
	const char *id;               /* "uncovered", "visible", ... */
	const char *question;         /* the reviewer's question, one line */
	const char *setup;            /* the model's setup, one or two sentences */
	const char *knob;             /* the profile knob involved, or "" */
	unsigned nr_outcomes;
	struct sim_outcome outcomes[SIM_MAX_OUTCOMES];
};

/* Number of questions, and the id of question i (NULL past the end). */
unsigned sim_explain_count(void);
const char *sim_explain_id(unsigned i);
/* Run the experiment for id: 0, SNP_ENOENT for an unknown id, or a model error. */
int sim_explain_run(const char *id, struct sim_question *out);

#endif
