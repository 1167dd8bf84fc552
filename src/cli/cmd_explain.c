// SPDX-License-Identifier: MIT
/*
 * cmd_explain.c - `snpsafe explain [ID|all] [--json]`: one experiment per
 * open question of the LKML reviewer, run under each setting of its knob.
 */
#include "cli.h"

#include <snpsafe/sim.h>

#include <string.h>

struct explain_opts {
	bool json;
};

static SNP_MUST_CHECK int set_json(void *ctx, const char *v)
{
	((struct explain_opts *)ctx)->json = true;
	return 0;
}

static const struct cli_option explain_options[] = {
	{ "json", false, set_json, "", "print one JSON object on stdout", NULL },
	{ NULL, false, NULL, NULL, NULL, NULL },
};

static void print_question(const struct sim_question *q)
{
	printf("[%s] %s\n", q->id, q->question);
	printf("  setup: %s\n", q->setup);
	if (q->knob[0])
		printf("  knob:  %s\n", q->knob);
	for (unsigned int i = 0; i < q->nr_outcomes; i++) {
		const struct sim_outcome *o = &q->outcomes[i];

		printf("  - %s\n      %s\n      %s: %s\n", o->setting, o->result,
		       o->documented ? "documented" : "assumed", o->source);
	}
	/* Fixed prefixes, so that a reader (or a test) finds the answer and its basis. */
	printf("  Answer: %s\n", q->answer);
	if (q->answer_documented)
		printf("  Basis: documented (%s)\n", q->basis_source);
	else
		printf("  Basis: assumed (knob %s, default %s in %s): %s\n", q->basis_knob,
		       q->basis_default, q->basis_preset, q->basis_source);
	printf("\n");
}

static void json_question(struct json *j, const struct sim_question *q)
{
	json_obj_begin(j, NULL);
	json_str(j, "id", q->id);
	json_str(j, "question", q->question);
	json_str(j, "setup", q->setup);
	json_str(j, "knob", q->knob);
	json_arr_begin(j, "outcomes");
	for (unsigned int i = 0; i < q->nr_outcomes; i++) {
		json_obj_begin(j, NULL);
		json_str(j, "setting", q->outcomes[i].setting);
		json_str(j, "result", q->outcomes[i].result);
		json_bool(j, "documented", q->outcomes[i].documented);
		json_str(j, "source", q->outcomes[i].source);
		json_str(j, "knob_value", q->outcomes[i].knob_value[0] ? q->outcomes[i].knob_value : NULL);
		json_str(j, "answer", q->outcomes[i].answer[0] ? q->outcomes[i].answer : NULL);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_str(j, "answer", q->answer);
	json_obj_begin(j, "basis");
	json_bool(j, "documented", q->answer_documented);
	json_str(j, "source", q->basis_source);
	json_str(j, "knob", q->basis_knob);
	json_str(j, "default", q->answer_documented ? NULL : q->basis_default);
	json_str(j, "preset", q->basis_preset);
	json_obj_end(j);
	json_obj_end(j);
}

static const char *list_ids(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < sim_explain_count() && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", sim_explain_id(i));
	return buf;
}

static bool known_id(const char *id)
{
	for (unsigned int i = 0; i < sim_explain_count(); i++)
		if (!strcmp(id, sim_explain_id(i)))
			return true;
	return !strcmp(id, "all");
}

/* --help: the question ids ('snpsafe explain' prints each question in full). */
static void explain_extra_help(void)
{
	char ids[256];

	printf("\nID, one of: %s, all\n", list_ids(ids, sizeof(ids)));
}

int cmd_explain(int argc, char **argv)
{
	static const char synopsis[] =
		"Answer the LKML reviewer's open questions about the in-use erratum by experiment:\n"
		"each question is run on the modeled hardware under every setting of the knob\n"
		"involved, and each outcome says whether a public source documents it.  Each\n"
		"question ends with its answer (\"Answer: \", one line) and the answer's basis\n"
		"(\"Basis: documented (SOURCE)\" or \"Basis: assumed (knob NAME, default VALUE)\").\n"
		"ID is one question (default: all).\n";
	struct explain_opts o = { 0 };
	const char *pos[1] = { "all" };
	struct sim_question q;
	struct json j;
	char ids[256];
	int npos = 0, ret;
	bool all;

	ret = cli_parse_args_pos("explain", "[ID|all]", argc, argv, explain_options, &o, synopsis,
				 explain_extra_help, pos, 1, &npos);
	if (ret)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (!known_id(pos[0]))
		return cli_usage_error("explain", "unknown question '%s' (one of: %s, all)", pos[0],
				       list_ids(ids, sizeof(ids)));
	if (cli_dry_run)
		return CLI_EXIT_OK;
	all = !strcmp(pos[0], "all");
	if (o.json) {
		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_arr_begin(&j, "questions");
	}
	for (unsigned int i = 0; i < sim_explain_count(); i++) {
		if (!all && strcmp(pos[0], sim_explain_id(i)))
			continue;
		ret = sim_explain_run(sim_explain_id(i), &q);
		if (ret)
			return cli_fail("explain", "experiment '%s' failed: %s", sim_explain_id(i),
					snp_error_text(ret));
		if (o.json)
			json_question(&j, &q);
		else
			print_question(&q);
	}
	if (o.json) {
		json_arr_end(&j);
		json_obj_end(&j);
		json_finish(&j);
	}
	return CLI_EXIT_OK;
}
