// SPDX-License-Identifier: MIT
/*
 * cmd_merge.c - `snpsafe merge FILE...`: the shards of one simulate run
 * (simulate --shard K/N --json), put together into what the whole run
 * prints.  Each shard holds its trials' raw counts; merge checks that the
 * files are the N shards of one configuration, each once, and hands every
 * trial to sim_mc_summarise(), the code simulate itself reports with, so
 * that the output is the one-machine run's byte for byte (docs/SCALE.md).
 */
#include "cli.h"
#include "cluster_report.h"
#include "sim_report.h"

#include <snpsafe/sim.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A shard holds a few hundred bytes per trial: 1,000,000 trials x 3 strategies fit. */
#define MERGE_MAX_BYTES ((size_t)4 << 30)

/* The counts of struct sim_mc_trial, each one key of a trial's JSON object. */
static const struct trial_field {
	const char *key;
	size_t off;
	bool by_kind;   /* an array, one count per enum kvm_page_kind */
} trial_fields[] = {
	{ "spurious_faults", offsetof(struct sim_mc_trial, spurious_faults), false },
	{ "faults", offsetof(struct sim_mc_trial, faults), false },
	{ "order1_broken", offsetof(struct sim_mc_trial, order1_broken), false },
	{ "leaked_pages", offsetof(struct sim_mc_trial, leaked_pages), false },
	{ "vmruns", offsetof(struct sim_mc_trial, vmruns), false },
	{ "vmsave_window_writes", offsetof(struct sim_mc_trial, vmsave_window_writes), false },
	{ "ticks", offsetof(struct sim_mc_trial, ticks), false },
	{ "region_writes", offsetof(struct sim_mc_trial, region_writes), false },
	{ "region_huge_writes", offsetof(struct sim_mc_trial, region_huge_writes), false },
	{ "first_fault_tick", offsetof(struct sim_mc_trial, first_fault_tick), false },
	{ "n_sensitive", offsetof(struct sim_mc_trial, n_sensitive), false },
	{ "sensitive_allocated", offsetof(struct sim_mc_trial, sensitive_allocated), true },
	{ "sensitive_aligned", offsetof(struct sim_mc_trial, sensitive_aligned), true },
	{ "markable", offsetof(struct sim_mc_trial, markable), true },
	{ "markable_aligned", offsetof(struct sim_mc_trial, markable_aligned), true },
	{ "exposed", offsetof(struct sim_mc_trial, exposed), true },
	{ "exposed_aligned", offsetof(struct sim_mc_trial, exposed_aligned), true },
	{ "live", offsetof(struct sim_mc_trial, live), true },
	{ "gmem_pageblock", offsetof(struct sim_mc_trial, gmem_pageblock), true },
	{ "vms_tried", offsetof(struct sim_mc_trial, vm.vms_tried), false },
	{ "vms_running", offsetof(struct sim_mc_trial, vm.vms_running), false },
	{ "vms_no_asid", offsetof(struct sim_mc_trial, vm.vms_no_asid), false },
	{ "vm_enomem", offsetof(struct sim_mc_trial, vm.vm_enomem), false },
	{ "vcpu_enomem", offsetof(struct sim_mc_trial, vm.vcpu_enomem), false },
	{ "kvm_load_enomem", offsetof(struct sim_mc_trial, vm.kvm_load_enomem), false },
	{ "asid_flushes", offsetof(struct sim_mc_trial, vm.asid_flushes), false },
	{ "teardown_pages_kept", offsetof(struct sim_mc_trial, vm.teardown_pages_kept), false },
	{ "vmcb01_units", offsetof(struct sim_mc_trial, vmcb01_cluster.units), false },
	{ "vmcb01_pages", offsetof(struct sim_mc_trial, vmcb01_cluster.pages), false },
	{ "vmcb01_regions", offsetof(struct sim_mc_trial, vmcb01_cluster.regions), false },
	{ "vmcb01_max_region", offsetof(struct sim_mc_trial, vmcb01_cluster.max_region), false },
	{ "vmcb01_top5", offsetof(struct sim_mc_trial, vmcb01_cluster.top5), false },
	{ "vmcb01_pages_aligned", offsetof(struct sim_mc_trial, vmcb01_cluster.aligned), false },
	{ "vmcb01_aligned_shared", offsetof(struct sim_mc_trial, vmcb01_cluster.aligned_shared), false },
	{ "vmcb01_allocations", offsetof(struct sim_mc_trial, vmcb01_cluster.allocations), false },
};
#define NR_TRIAL_FIELDS (sizeof(trial_fields) / sizeof(trial_fields[0]))

static uint64_t *field(struct sim_mc_trial *c, const struct trial_field *f)
{
	return (uint64_t *)((char *)c + f->off);
}

void cli_shard_json_trial(struct json *j, enum snp_alloc_strategy s, unsigned int t,
			  const struct sim_mc_trial *c)
{
	json_obj_begin(j, NULL);
	json_str(j, "strategy", snp_alloc_strategy_name(s));
	json_u64(j, "trial", t);
	for (size_t i = 0; i < NR_TRIAL_FIELDS; i++) {
		const uint64_t *v = field((struct sim_mc_trial *)c, &trial_fields[i]);

		if (!trial_fields[i].by_kind) {
			json_u64(j, trial_fields[i].key, *v);
			continue;
		}
		json_arr_begin(j, trial_fields[i].key);
		for (int k = 0; k < KVM_PAGE_NR_KINDS; k++)
			json_u64(j, NULL, v[k]);
		json_arr_end(j);
	}
	/* exact: the analytic estimates sum it, and must sum to the whole run's bits */
	json_double_exact(j, "p_est", c->p_est);
	json_obj_end(j);
}

/* ---- reading the shards ------------------------------------------------------------ */

struct merge {
	bool json;
	const char *first;               /* the first file: its config is the run's */
	struct json_node *first_doc;
	const struct json_node *config;
	unsigned int n;                  /* shards */
	const char **seen;               /* per shard, the file that gave it */
	unsigned int trials;             /* per strategy */
	unsigned int strategies;         /* mask */
	struct sim_mc_trial *counts;     /* strategy-major */
	struct merge_watch *watch;       /* watch --json runs instead (merge_watch.c) */
};

/* "snpsafe merge: FILE[, line L, column C]: ..." on one line; CLI_EXIT_USAGE. */
#define bad(path, at, ...) cli_json_error("merge", "", (path), (at), __VA_ARGS__)

bool merge_read_u64(const struct json_node *v, uint64_t max, uint64_t *out)
{
	char *end;

	if (!v || (v->type != JSON_NUMBER && v->type != JSON_STRING) || !*v->text ||
	    strspn(v->text, "0123456789") != strlen(v->text))
		return false;
	errno = 0;
	*out = strtoull(v->text, &end, 10);
	return !errno && *out <= max;
}

/* Are a and b the same JSON value (member order included, as simulate writes it)? */
static bool same(const struct json_node *a, const struct json_node *b)
{
	const struct json_node *x, *y;

	if (a->type != b->type || (a->text && b->text && strcmp(a->text, b->text)))
		return false;
	for (x = a->child, y = b->child; x && y; x = x->next, y = y->next) {
		if (!x->key != !y->key || (x->key && strcmp(x->key, y->key)) || !same(x, y))
			return false;
	}
	return !x && !y;
}

/*
 * The first key where config c differs from the run's, or NULL.  "threads"
 * is not compared: results do not depend on it, and each machine of a
 * cluster may run its own count (the output shows the first file's).
 */
static const char *config_diff(const struct json_node *run, const struct json_node *c)
{
	const struct json_node *x, *y;

	for (x = run->child, y = c->child; x && y; x = x->next, y = y->next) {
		if (strcmp(x->key, y->key))
			return x->key;
		if (strcmp(x->key, "threads") && !same(x, y))
			return x->key;
	}
	return x ? x->key : y ? y->key : NULL;
}

/* The run's size from the first file's config: trials and strategies. */
static int run_size(struct merge *m, const char *path)
{
	const struct json_node *s = json_member(m->config, "strategies");
	uint64_t trials;

	if (!merge_read_u64(json_member(m->config, "trials"), 1000000, &trials) || !trials)
		return bad(path, m->config, "its config has no \"trials\" of 1..1000000");
	m->trials = (unsigned int)trials;
	for (const struct json_node *e = s && s->type == JSON_ARRAY ? s->child : NULL; e; e = e->next) {
		enum snp_alloc_strategy st;

		if (e->type != JSON_STRING || snp_alloc_strategy_parse(e->text, &st))
			return bad(path, e, "bad strategy in its config's \"strategies\"");
		m->strategies |= 1u << st;
	}
	if (!m->strategies)
		return bad(path, m->config, "its config names no strategy");
	return 0;
}

/* The index of strategy s among the run's (they are in enum order), or -1. */
static int strategy_slot(const struct merge *m, const char *name)
{
	enum snp_alloc_strategy st;

	if (!name || snp_alloc_strategy_parse(name, &st) || !(m->strategies & (1u << st)))
		return -1;
	return __builtin_popcount(m->strategies & ((1u << st) - 1));
}

/* One trial object into its place, each count checked. */
static int read_trial(struct merge *m, const char *path, const struct json_node *e)
{
	const struct json_node *s = json_member(e, "strategy"), *p = json_member(e, "p_est");
	int slot = e->type == JSON_OBJECT && s && s->type == JSON_STRING ? strategy_slot(m, s->text) : -1;
	struct sim_mc_trial *c;
	uint64_t t;
	char *end;

	if (slot < 0)
		return bad(path, e, "a trial without a strategy of the run's");
	if (!merge_read_u64(json_member(e, "trial"), m->trials - 1, &t))
		return bad(path, e, "a trial without a \"trial\" number below %u", m->trials);
	c = &m->counts[(size_t)slot * m->trials + t];
	if (c->ran)
		return bad(path, e, "trial %llu of %s given twice", (unsigned long long)t, s->text);
	for (size_t i = 0; i < NR_TRIAL_FIELDS; i++) {
		const struct trial_field *f = &trial_fields[i];
		const struct json_node *v = json_member(e, f->key), *x = v ? v->child : NULL;
		uint64_t *dst = field(c, f);

		if (!f->by_kind && !merge_read_u64(v, UINT64_MAX, dst))
			return bad(path, v ? v : e, "trial %llu: \"%s\" must be a whole number",
				   (unsigned long long)t, f->key);
		for (int k = 0; f->by_kind && k < KVM_PAGE_NR_KINDS; k++, x = x->next)
			if (!v || v->type != JSON_ARRAY || !x || !merge_read_u64(x, UINT64_MAX, &dst[k]))
				return bad(path, v ? v : e, "trial %llu: \"%s\" must be %d whole numbers",
					   (unsigned long long)t, f->key, KVM_PAGE_NR_KINDS);
	}
	if (!p || p->type != JSON_NUMBER || (c->p_est = strtod(p->text, &end), *end) ||
	    !(c->p_est >= 0 && c->p_est <= 1))
		return bad(path, p ? p : e, "trial %llu: \"p_est\" must be a number in 0..1",
			   (unsigned long long)t);
	c->ran = true;
	return 0;
}

/* The shard's number K/N, checked against the run's N and the files before. */
static int read_shard(struct merge *m, const char *path, const struct json_node *sh)
{
	uint64_t k, n;

	if (!merge_read_u64(json_member(sh, "n"), 1000000, &n) || !n ||
	    !merge_read_u64(json_member(sh, "k"), n, &k) || !k)
		return bad(path, sh, "\"shard\" must hold k and n, 1 <= k <= n <= 1000000");
	if (!m->seen) {
		m->n = (unsigned int)n;
		m->seen = calloc(n, sizeof(*m->seen));
		if (!m->seen)
			return cli_fail("merge", "out of memory");
	}
	if (n != m->n)
		return bad(path, NULL, "shard %llu/%llu, but %s is a shard of %u", (unsigned long long)k,
			   (unsigned long long)n, m->first, m->n);
	if (m->seen[k - 1])
		return bad(path, NULL, "shard %llu/%u given twice (also %s)", (unsigned long long)k, m->n,
			   m->seen[k - 1]);
	m->seen[k - 1] = path;
	return 0;
}

/*
 * One watch --json run: the first one's kernel and config (every key: the
 * memory, CPUs, VMs, vCPUs, seconds, lifetime, filter, host-snp, kvm-build,
 * and the age rounds where watch has them), then its counts.
 */
static int read_watch(struct merge *m, const char *path, struct json_node *doc)
{
	const struct json_node *cfg = json_member(doc, "config"), *k = json_member(doc, "kernel");
	const char *diff;

	if (m->config && !m->watch)
		return bad(path, NULL, "a watch run among simulate shards: merge one kind at a time");
	if (!cfg || cfg->type != JSON_OBJECT || !k || k->type != JSON_STRING)
		return bad(path, NULL, "not a watch run (the output of watch --json): no kernel or config");
	if (!m->config) {
		m->first = path;
		m->first_doc = doc;
		m->config = cfg;
	} else if (strcmp(k->text, json_member(m->first_doc, "kernel")->text)) {
		return bad(path, NULL, "its config differs from %s's at \"kernel\" (%s, not %s): not a "
			   "run of the same configuration", m->first, k->text,
			   json_member(m->first_doc, "kernel")->text);
	} else if ((diff = config_diff(m->config, cfg))) {
		return bad(path, NULL, "its config differs from %s's at \"%s\": not a run of the same "
			   "configuration", m->first, diff);
	}
	return merge_watch_add(&m->watch, path, doc);
}

/* One file: a shard of the first file's run, its trials into place. */
static int read_file(struct merge *m, const char *path, struct json_node *doc)
{
	const struct json_node *cfg = json_member(doc, "config"), *sh = json_member(doc, "shard");
	const struct json_node *tr = json_member(doc, "trials");
	const char *diff;
	int ret;

	if (merge_is_watch(doc))
		return read_watch(m, path, doc);
	if (m->watch)
		return bad(path, NULL, "not a watch run (the output of watch --json), as %s is", m->first);
	if (doc->type != JSON_OBJECT || !cfg || cfg->type != JSON_OBJECT || !sh ||
	    sh->type != JSON_OBJECT || !tr || tr->type != JSON_ARRAY)
		return bad(path, NULL, "not a shard (the output of simulate --shard K/N --json)");
	if (!m->config) {
		m->first = path;
		m->first_doc = doc;
		m->config = cfg;
		ret = run_size(m, path);
		if (ret)
			return ret;
		m->counts = calloc((size_t)__builtin_popcount(m->strategies) * m->trials, sizeof(*m->counts));
		if (!m->counts)
			return cli_fail("merge", "out of memory");
	} else if ((diff = config_diff(m->config, cfg))) {
		return bad(path, NULL, "its config differs from %s's at \"%s\": not a shard of the same run",
			   m->first, diff);
	}
	ret = read_shard(m, path, sh);
	for (const struct json_node *e = tr->child; e && !ret; e = e->next)
		ret = read_trial(m, path, e);
	return ret;
}

static int parse_file(struct merge *m, const char *path)
{
	struct json_node *doc = NULL;
	char err[256];
	size_t len;
	char *text = cli_slurp("merge", "", path, MERGE_MAX_BYTES, &len);
	int ret;

	if (!text)
		return CLI_EXIT_USAGE;
	if (json_parse(text, len, &doc, err, sizeof(err)))
		ret = bad(path, NULL, "%s", err);
	else
		ret = read_file(m, path, doc);
	if (doc != m->first_doc)
		json_node_free(doc);
	free(text);
	return ret;
}

/* Every shard given, every trial of the run in one of them. */
static int check_complete(const struct merge *m)
{
	unsigned int nr = (unsigned int)__builtin_popcount(m->strategies);

	for (unsigned int k = 0; k < m->n; k++)
		if (!m->seen[k])
			return cli_usage_error("merge", "shard %u/%u missing: give every shard's file once",
					       k + 1, m->n);
	for (unsigned int j = 0; j < nr * m->trials; j++)
		if (!m->counts[j].ran)
			return cli_usage_error("merge", "trial %u missing from the shards (a file was "
					       "cut or edited)", j % m->trials);
	return 0;
}

static SNP_MUST_CHECK int set_json(void *ctx, const char *v)
{
	(void)v;
	((struct merge *)ctx)->json = true;
	return 0;
}

static const struct cli_option merge_options[] = {
	{ "json", false, set_json, "", "print the whole run's JSON, as simulate --json does (watch "
	  "runs: the three columns and tests as JSON)", NULL },
	{ NULL, false, NULL, NULL, NULL, NULL },
};

#define MERGE_MAX_FILES 100000

int cmd_merge(int argc, char **argv)
{
	static const char synopsis[] =
		"Put the shards of one simulate run together: FILE... are the outputs of\n"
		"`simulate --shard K/N --json` for K = 1..N, each once, with the same flags.\n"
		"Prints what `simulate` with those flags prints on one machine, byte for byte\n"
		"(text, or JSON with --json): the counts added, the intervals, design effects,\n"
		"effective hosts and summary computed by simulate's own code.  Refused with one\n"
		"line: a file that is not a shard, a config that differs (--threads aside), a\n"
		"shard missing or given twice.  docs/SCALE.md runs it under GNU parallel and Slurm.\n"
		"\n"
		"Or FILE... are `watch --json` runs (boots) of one kernel and configuration: merge\n"
		"pools them and prints three columns, measured, model and a uniformly random page,\n"
		"for aligned and exposed vmcb01 allocations and for how their pages cluster by 2MB\n"
		"region, each pair tested (p, power to see a threefold difference, verdict), the\n"
		"boots as clusters.  Refused with one line: a config or kernel that differs (naming\n"
		"the key), a run given twice, a run without vmcb01 allocations (docs/WATCH.md).\n";
	static const char *files[MERGE_MAX_FILES];
	struct merge m = { 0 };
	int nr = 0, ret;

	ret = cli_parse_args_pos("merge", "FILE...", argc, argv, merge_options, &m, synopsis, NULL,
				 files, MERGE_MAX_FILES, &nr);
	if (ret)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (!nr)
		return cli_usage_error("merge", "no FILE: give the shards' JSON (simulate --shard K/N --json) "
				       "or watch runs' (watch --json)");
	for (int i = 0; i < nr && !ret; i++)
		ret = parse_file(&m, files[i]);
	if (!ret && m.watch && !cli_dry_run)
		ret = merge_watch_report(m.watch, m.first_doc, m.json);
	else if (!ret)
		ret = check_complete(&m);
	if (!ret && !m.watch && !cli_dry_run)
		ret = cli_simulate_merged(m.first, m.config, m.counts, m.json);
	merge_watch_free(m.watch);
	json_node_free(m.first_doc);
	free(m.counts);
	free(m.seen);
	return ret;
}
