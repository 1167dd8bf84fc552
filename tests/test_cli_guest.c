// SPDX-License-Identifier: MIT
/*
 * test_cli_guest.c - `snpsafe simulate --guest` and `--mix snp`: the guest
 * side's JSON keys (added to simulate's contract, none removed) and figures;
 * simulate --kvm (the KVM version's call sites).
 */
#include "cli_util.h"
#include "json_lite.h"

#define SIM_TINY "simulate --mem 256M --cpus 2 --vms 2 --vcpus 2 --ticks 8 --trials 1 --threads 1 --json"

static double num(const struct jl *o, const char *key)
{
	const struct jl *v = jl_get(o, key);

	if (!v || v->type != JL_NUM) {
		ktap_fail(__FILE__, __LINE__, "key '%s' missing or not a number", key);
		return -1;
	}
	return v->num;
}

/* The row of @strategy in @state ("boot"/"aged"), or NULL. */
static const struct jl *row(const struct jl *guest, const char *strategy, const char *state)
{
	const struct jl *rs = jl_get(guest, "results");

	for (unsigned int i = 0; i < jl_len(rs); i++) {
		const struct jl *o = jl_at(rs, i);

		if (!strcmp(jl_get(o, "strategy")->str, strategy) && !strcmp(jl_get(o, "state")->str, state))
			return o;
	}
	ktap_fail(__FILE__, __LINE__, "no guest row %s/%s", strategy, state);
	return NULL;
}

static void test_mix_snp_shows_guest_side(void)
{
	static const char *const rule[] = { "linux", "edk2", "svsm", "sieve" };
	struct cli_run r = cli_run(SIM_TINY " --mix snp");
	struct jl *doc = jl_parse(r.out);
	const struct jl *g, *o;

	KEXPECT_EQ(r.status, 0);
	KASSERT(doc != NULL);
	KEXPECT(jl_get(doc, "results") != NULL);   /* the existing contract stays */
	g = jl_get(doc, "guest");
	KASSERT(g != NULL);
	KEXPECT_EQ(jl_len(jl_get(g, "results")), 12);   /* 6 strategies, boot and aged */
	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(rule); i++) {
		for (unsigned int aged = 0; aged < 2; aged++) {
			o = row(g, rule[i], aged ? "aged" : "boot");
			KASSERT(o != NULL);
			KEXPECT_EQ(num(o, "aligned"), 0);
			KEXPECT_EQ(num(o, "vmsas"), num(g, "aps") * num(g, "rounds"));
			KEXPECT_EQ(num(o, "pages_kept_per_vmsa"), strcmp(rule[i], "svsm") ? 1.0 : 2.0);
		}
	}
	o = row(g, "retry", "boot");   /* the ping-pong: every AP gives up */
	KASSERT(o != NULL);
	KEXPECT_EQ(num(o, "vmsas"), 0);
	KEXPECT(num(o, "retries") > 0);
	o = row(g, "naive", "boot");
	KASSERT(o != NULL);
	KEXPECT(num(o, "aligned") > 0);
	jl_free(doc);
	cli_run_free(&r);
}

static void test_guest_option(void)
{
	struct cli_run r = cli_run(SIM_TINY " --mix svm");
	struct jl *doc = jl_parse(r.out);

	KASSERT(doc != NULL);
	KEXPECT(jl_get(doc, "guest") == NULL);   /* not an SNP-only mix: off by default */
	jl_free(doc);
	cli_run_free(&r);
	r = cli_run(SIM_TINY " --mix svm --guest svsm");
	doc = jl_parse(r.out);
	KASSERT(doc != NULL);
	KEXPECT_EQ(jl_len(jl_get(jl_get(doc, "guest"), "results")), 2);
	jl_free(doc);
	cli_run_free(&r);
	r = cli_run(SIM_TINY " --mix snp --guest off");
	doc = jl_parse(r.out);
	KASSERT(doc != NULL);
	KEXPECT(jl_get(doc, "guest") == NULL);
	jl_free(doc);
	cli_run_free(&r);
	r = cli_run(SIM_TINY " --mix svm --kvm rfc-v4");
	doc = jl_parse(r.out);
	KASSERT(doc != NULL);
	KEXPECT(!strcmp(jl_get(jl_get(doc, "config"), "kvm")->str, "rfc-v4"));
	jl_free(doc);
	cli_run_free(&r);
	EXPECT_USAGE_ERROR("simulate --kvm 6.1", "--kvm");
	EXPECT_USAGE_ERROR("simulate --guest coconut", "--guest");
	EXPECT_USAGE_ERROR("simulate --guest", "--guest");
}

static void test_guest_text(void)
{
	struct cli_run r = cli_run("simulate --mem 256M --cpus 2 --vms 2 --vcpus 2 --ticks 8 "
				   "--trials 1 --threads 1 --mix snp --guest linux");

	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "Guest side") != NULL);
	KEXPECT(strstr(r.out, "\nlinux   boot") != NULL);
	KEXPECT(strstr(r.out, "\nsvsm ") == NULL);
	cli_run_free(&r);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_mix_snp_shows_guest_side),
	KTAP_CASE(test_guest_option),
	KTAP_CASE(test_guest_text),
};

KTAP_MAIN("cli_guest", cases)
