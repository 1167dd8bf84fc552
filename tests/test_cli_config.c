// SPDX-License-Identifier: MIT
/*
 * test_cli_config.c - simulate's scenarios through the built command (issue
 * 23, item 9).  `simulate --config FILE` reads back what a simulate --json
 * printed, the whole output or its "config" object, and reruns it to the
 * same bytes; flags on the line win over the file wherever they stand; a key
 * it does not know, a value its flag would refuse and JSON that is not JSON
 * each get one line naming the file, and the place or the key.  `--avic`
 * decides whether the AVIC backing pages are markable in-use, and is
 * recorded and read back like every other flag.
 */
#include "cli_json.h"

/* Small, several flags away from their defaults, and a knob that makes faults. */
#define SMALL "--mem 64M --cpus 2 --vms 4 --vcpus 2 --ticks 64 --trials 2 --threads 1 --age 20"
/* 96M: qemu-pc's 6.1 kernel image ends at 68 MiB (docs/MODEL.md "Boot state"); VMs churned */
#define SCENARIO SMALL " --mem 96M --lifetime 16 --mix svm:1,nested:2,snp:1 --strategy naive --seed 7 --kernel 6.1 " \
	"--kvm 6.9 --layout qemu-pc --vmsave-window 0.000123456789 --clone off --age-share 2 " \
	"--avic on --guest linux --profile hv-inuse-wr --knob hv_inuse_wr_fixes_erratum=off " \
	"--knob rmp_check_every_access=on --irqchip off --kvm-debugfs tcg --host-loops 0.37 --vmm-cpus 3,1"

#define ARGS_MAX 1024

/* "simulate --config PATH" + extra, into buf. */
static const char *with_config(const char *path, const char *extra, char *buf, size_t len)
{
	snprintf(buf, len, "simulate --config %s%s", path, extra);
	return buf;
}

/* That running again prints want, byte for byte. */
static void expect_prints(const char *args, const char *want, const char *what)
{
	char *got = cli_run_ok(args);

	if (strcmp(got, want))
		ktap_fail(__FILE__, __LINE__, "'%s' printed otherwise than %s", args, what);
	free(got);
}

/* The text of doc's "config" member, as printed (its braces hold one nested object, knobs). */
static char *config_member(const char *doc)
{
	const char *p = strstr(doc, "\"config\":");
	int depth = 0;
	const char *q;

	KASSERT(p);
	p += strlen("\"config\":");
	for (q = p; *q; q++) {
		depth += *q == '{';
		depth -= *q == '}';
		if (!depth)
			break;
	}
	KASSERT(*q == '}');
	return strndup(p, (size_t)(q - p + 1));
}

/*
 * The test: many flags and knobs off their defaults, the JSON fed
 * back with --config (whole, then its config alone): the same bytes, in
 * JSON and in text.
 */
static void test_config_reruns_byte_identical(void)
{
	char args[ARGS_MAX], whole[32], part[32];
	char *json = cli_run_ok("simulate --json " SCENARIO);
	char *text = cli_run_ok("simulate " SCENARIO);
	char *cfg = config_member(json);

	ktap_log("config: %s", cfg);
	cli_write_temp(json, strlen(json), whole);
	cli_write_temp(cfg, strlen(cfg), part);
	expect_prints(with_config(whole, " --json", args, sizeof(args)), json, "the first run");
	expect_prints(with_config(part, " --json", args, sizeof(args)), json, "the first run");
	expect_prints(with_config(whole, "", args, sizeof(args)), text, "the first run's text");
	expect_prints(with_config(part, "", args, sizeof(args)), text, "the first run's text");
	/* The run is no default one: the knob took effect, the guest side ran. */
	KEXPECT(strstr(text, "hv_inuse_wr_fixes_erratum=off") != NULL);
	KEXPECT(strstr(json, "\"guest\":{") != NULL);
	unlink(whole);
	unlink(part);
	free(cfg);
	free(text);
	free(json);
}

/* Keys the file lacks keep their defaults: a partial file is the flags it names. */
static void test_config_partial_keeps_defaults(void)
{
	static const char file[] =
		"{\n  \"mem_bytes\": 67108864, \"cpus\": 2, \"vms\": 4, \"vcpus\": 2,\n"
		"  \"ticks\": 64, \"trials\": 2, \"threads\": 1, \"age_pct\": 20,\n"
		"  \"strategies\": [\"naive\", \"sieve\"], \"seed\": 3\n}\n";
	char args[ARGS_MAX], path[32];
	char *want = cli_run_ok("simulate --json " SMALL " --seed 3");
	struct jl *doc;

	cli_write_temp(file, strlen(file), path);
	/* naive and sieve: a pair the flag cannot name, the file can */
	doc = run_json(with_config(path, " --json", args, sizeof(args)));
	KEXPECT_EQ(jl_len(jl_get(jl_get(doc, "config"), "strategies")), 2);
	jl_free(doc);
	expect_prints(with_config(path, " --json --strategy all", args, sizeof(args)), want,
		      "the same flags on the line");
	unlink(path);
	free(want);
}

/* Flags on the line win over the file, before or after --config; its knobs are --knobs. */
static void test_config_flags_override(void)
{
	char args[ARGS_MAX], path[32];
	char *json = cli_run_ok("simulate --json " SCENARIO);
	char *want = cli_run_ok("simulate --json " SCENARIO " --trials 3 --knob rmp_check_every_access=off");
	struct jl *doc;

	cli_write_temp(json, strlen(json), path);
	snprintf(args, sizeof(args), "simulate --trials 3 --config %s --json "
		 "--knob rmp_check_every_access=off", path);
	expect_prints(args, want, "the flags over the first run's");
	snprintf(args, sizeof(args), "simulate --config %s --knob rmp_check_every_access=off "
		 "--json --trials 3", path);
	expect_prints(args, want, "the flags over the first run's");
	/* --profile on the line keeps the file's knobs, as it keeps --knob's */
	doc = run_json(with_config(path, " --json --profile early-snp", args, sizeof(args)));
	KEXPECT(!strcmp(str(jl_get(doc, "config"), "profile"), "early-snp"));
	KEXPECT(!strcmp(str(jl_get(jl_get(doc, "config"), "knobs"), "rmp_check_every_access"), "on"));
	jl_free(doc);
	unlink(path);
	free(want);
	free(json);
}

/* A file that is refused: exit 2, nothing on stdout, one line naming the file and what. */
static void expect_refused(const char *file, const char *names)
{
	char args[ARGS_MAX], path[32];

	cli_write_temp(file, strlen(file), path);
	with_config(path, " --json", args, sizeof(args));
	ktap_log("%s", file);
	EXPECT_USAGE_ERROR(args, names);
	EXPECT_USAGE_ERROR(args, path);
	unlink(path);
}

static void test_config_unknown_keys(void)
{
	expect_refused("{\"cpus\": 2,\n \"bogus_key\": 1}", "line 2, column 2: unknown key \"bogus_key\"");
	expect_refused("{\"config\": {\"cpus\": 2}, \"extra\": 1}", "unknown key \"extra\" beside \"config\"");
	expect_refused("{\"config\": {\"vmsave\": \"on\"}, \"results\": []}", "unknown key \"vmsave\"");
	expect_refused("{\"knobs\": {\"no_such_knob\": \"on\"}}", "unknown knob 'no_such_knob'");
}

/* Bad JSON: the line and column of the first wrong byte. */
static void test_config_bad_json(void)
{
	static const struct { const char *file, *names; } bad[] = {
		{ "{\"cpus\": 2,\n \"vms\": 4,\n}", "line 3, column 1: a ',' before '}'" },
		{ "{\"cpus\": 2", "line 1, column 11: expected ',' or '}', found the end of the file" },
		{ "{'cpus': 2}", "line 1, column 2: expected a key in double quotes" },
		{ "{\"cpus\": 02}", "line 1, column 10: a number with a leading zero" },
		{ "{\"cpus\": 2} {}", "line 1, column 13: '{' after the JSON value" },
		{ "{\"mix\": \"svm\n\"}", "line 1, column 13: a control character" },
		{ "{\"mix\": \"\\x\"}", "line 1, column 10: bad escape" },
		{ "{\"mix\": \"\\ud800\"}", "a high surrogate" },
		{ "{\"mix\": \"\xc3\x28\"}", "not UTF-8 (byte 0xc3)" },
		{ "{\"cpus\": 2, \"cpus\": 3}", "line 1, column 13: key \"cpus\" appears twice" },
		{ "{\"cpus\": tru}", "line 1, column 10: expected a JSON value, found 't'" },
		{ "", "the file is empty" },
		{ "[1, 2]", "expected an object" },
	};
	char deep[300];

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(bad); i++)
		expect_refused(bad[i].file, bad[i].names);
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	expect_refused(deep, "nested deeper than 64");
}

/* A value the flag would refuse, or of the wrong type: refused as the flag refuses it. */
static void test_config_bad_values(void)
{
	expect_refused("{\"cpus\": 0}", "bad value '0' for \"cpus\" (--cpus; out of range; valid: 1..256)");
	expect_refused("{\"cpus\": 1.5}", "\"cpus\" must be a whole number, not 1.5");
	expect_refused("{\"cpus\": \"two\"}", "\"cpus\" must be a whole number, not \"two\"");
	expect_refused("{\"avic\": \"maybe\"}", "bad value 'maybe' for \"avic\" (--avic; valid: auto, on, off)");
	expect_refused("{\"avic\": true}", "\"avic\" must be a string, not true");
	expect_refused("{\"strategies\": []}", "\"strategies\" must be a list of one or more");
	expect_refused("{\"strategies\": [\"fast\"]}", "bad strategy 'fast'");
	expect_refused("{\"knobs\": {\"inuse_erratum\": \"maybe\"}}", "bad value 'maybe' for knob 'inuse_erratum'");
	expect_refused("{\"knobs\": {\"inuse_erratum\": true}}", "must have a string value");
	expect_refused("{\"mem_bytes\": 67108865}",
		       "bad value '67108865' for \"mem_bytes\" (--mem; valid: 64M..4T (the modeled RMP's reach), a multiple of 4M)");
	expect_refused("{\"config\": [1]}", "\"config\" must be an object");
}

/* The file itself: missing, a folder, given twice. */
static void test_config_file_errors(void)
{
	EXPECT_USAGE_ERROR("simulate --config /nonexistent/scenario.json",
			   "--config /nonexistent/scenario.json: No such file or directory");
	EXPECT_USAGE_ERROR("simulate --config /tmp", "--config /tmp: cannot read it: Is a directory");
	EXPECT_USAGE_ERROR("simulate --config a.json --config b.json", "--config given twice");
}

/* simulate --json's config keys for flags whose name differs; the others are the flag's, '_' for '-'. */
static const char *const renamed[][2] = {
	{ "mem", "mem_bytes" }, { "age", "age_pct" }, { "strategy", "strategies" }, { "knob", "knobs" },
};

/*
 * Every flag of simulate --help (but --json, --config, --help, and --shard,
 * which part of the run, recorded beside the config as "shard") is a key of
 * the config a run prints: a flag added and not recorded fails here.
 */
static void test_every_flag_recorded(void)
{
	char *help = cli_run_ok("simulate --help");
	struct jl *doc = run_json("simulate --json " SMALL);
	const struct jl *c = jl_get(doc, "config");
	unsigned int flags = 0;

	for (const char *p = strstr(help, "\n  --"); p; p = strstr(p + 1, "\n  --")) {
		char name[64], key[64];
		size_t n = strcspn(p + 5, " \n");

		snprintf(name, sizeof(name), "%.*s", (int)n, p + 5);
		if (!strcmp(name, "json") || !strcmp(name, "config") || !strcmp(name, "help") ||
		    !strcmp(name, "shard"))
			continue;
		snprintf(key, sizeof(key), "%s", name);
		for (char *k = key; *k; k++)
			*k = *k == '-' ? '_' : *k;
		for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(renamed); i++)
			if (!strcmp(name, renamed[i][0]))
				snprintf(key, sizeof(key), "%s", renamed[i][1]);
		if (!jl_get(c, key))
			ktap_fail(__FILE__, __LINE__, "--%s is not in simulate --json's config (as \"%s\")",
				  name, key);
		flags++;
	}
	ktap_log("%u flags, each in the config", flags);
	KEXPECT(flags >= 20);
	jl_free(doc);
	free(help);
}

/* by_kind.avic of the one strategy's result: allocated and markable. */
static void avic_counts(const char *flags, double *allocated, double *markable)
{
	char args[ARGS_MAX];
	struct jl *doc;
	const struct jl *k;

	snprintf(args, sizeof(args), "simulate --json " SMALL " --mix svm:1 --strategy naive %s", flags);
	doc = run_json(args);
	k = jl_get(jl_get(jl_at(jl_get(doc, "results"), 0), "by_kind"), "avic");
	KASSERT(k);
	*allocated = num(k, "allocated");
	*markable = num(k, "markable");
	ktap_log("%s: avic pages allocated %.0f, markable %.0f (config avic %s)", flags, *allocated,
		 *markable, str(jl_get(doc, "config"), "avic"));
	jl_free(doc);
}

/*
 * --avic on: the backing pages VMRUN marks are markable (and exposed) in the
 * counts; off: none are; auto: upstream's rule, off under early-snp (no
 * HvInUseWrAllowed), on under hv-inuse-wr.  The page is allocated through
 * svm's hook either way.
 */
static void test_avic_marks_backing_pages(void)
{
	static const struct { const char *flags; bool markable; } runs[] = {
		{ "", false },
		{ "--avic auto", false },
		{ "--avic on", true },
		{ "--avic off", false },
		{ "--profile hv-inuse-wr", true },
		{ "--profile hv-inuse-wr --avic off", false },
		{ "--profile hv-inuse-wr --avic on", true },
	};
	double first = -1;

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(runs); i++) {
		double allocated, markable;

		avic_counts(runs[i].flags, &allocated, &markable);
		KEXPECT(allocated > 0);
		if (first < 0)
			first = allocated;
		KEXPECT_EQ(allocated, first);
		if (runs[i].markable ? !(markable > 0) : markable != 0)
			ktap_fail(__FILE__, __LINE__, "'%s': %.0f AVIC pages markable", runs[i].flags,
				  markable);
	}
}

/* The text header says which AVIC the run had, and auto's outcome. */
static void test_avic_in_header(void)
{
	static const struct { const char *flags, *says; } runs[] = {
		{ "", "; AVIC auto (off)\n" },
		{ "--profile hv-inuse-wr", "; AVIC auto (on)\n" },
		{ "--avic on", "; AVIC on\n" },
		{ "--avic off --profile fixed", "; AVIC off\n" },
	};

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(runs); i++) {
		char args[ARGS_MAX], *out;

		snprintf(args, sizeof(args), "simulate " SMALL " --strategy naive %s", runs[i].flags);
		out = cli_run_ok(args);
		if (!strstr(out, runs[i].says))
			ktap_fail(__FILE__, __LINE__, "'%s': the header does not say '%s'", args,
				  runs[i].says);
		free(out);
	}
	EXPECT_USAGE_ERROR("simulate --avic maybe", "bad value 'maybe' for --avic (valid: auto, on, off)");
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_config_reruns_byte_identical),
	KTAP_CASE(test_config_partial_keeps_defaults),
	KTAP_CASE(test_config_flags_override),
	KTAP_CASE(test_config_unknown_keys),
	KTAP_CASE(test_config_bad_json),
	KTAP_CASE(test_config_bad_values),
	KTAP_CASE(test_config_file_errors),
	KTAP_CASE(test_every_flag_recorded),
	KTAP_CASE(test_avic_marks_backing_pages),
	KTAP_CASE(test_avic_in_header),
};

KTAP_MAIN("cli_config", cases)
