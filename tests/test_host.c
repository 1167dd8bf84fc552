// SPDX-License-Identifier: MIT
/*
 * test_host.c - the host check library (snpsafe/host.h): facts read from the
 * fixture hosts in tests/fixtures/host, every step of the verdict, the
 * broken fixtures' one-line messages, and the live machine.
 */
#include "ktap.h"

#include <snpsafe/host.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FIXTURES "tests/fixtures/host/"

static struct host_facts facts;   /* large: not on the stack */

static void load(const char *name)
{
	char root[256], err[512];
	int ret;

	snprintf(root, sizeof(root), FIXTURES "%s", name);
	if (access(root, R_OK))
		ktap_fail(__FILE__, __LINE__, "fixture %s missing (run from the source tree)", root);
	ret = host_read_facts(root, &facts, err, sizeof(err));
	if (ret) {
		ktap_fail(__FILE__, __LINE__, "%s: %d %s", name, ret, err);
		ktap_abort_case();
	}
}

static bool has_fact(const struct host_report *r, const char *fact)
{
	for (unsigned int i = 0; i < r->nr_reasons; i++)
		if (!strcmp(r->reasons[i].fact, fact))
			return true;
	return false;
}

static void test_product_table(void)
{
	KEXPECT(strstr(host_product_line(0x19, 0x01), "Milan") != NULL);
	KEXPECT(strstr(host_product_line(0x19, 0x11), "Genoa") != NULL);
	KEXPECT(strstr(host_product_line(0x19, 0xa5), "Bergamo") != NULL);
	KEXPECT(strstr(host_product_line(0x1a, 0x02), "Turin") != NULL);
	KEXPECT(strstr(host_product_line(0x17, 0x31), "Rome") != NULL);
	KEXPECT(host_product_line(0x19, 0x21) == NULL);   /* a desktop part: not in the table */
	KEXPECT(host_product_line(0x06, 0xcf) == NULL);
}

static void test_cpu_facts_decoded(void)
{
	load("milan-5.19-oot");
	KEXPECT(!strcmp(facts.cpu.vendor, "AuthenticAMD"));
	KEXPECT_EQ(facts.cpu.family, 0x19);
	KEXPECT_EQ(facts.cpu.model, 0x01);
	KEXPECT_EQ(facts.cpu.stepping, 1);
	KEXPECT(!facts.cpu.hypervisor);
	KEXPECT_EQ(facts.cpu.fn1f_state, HOST_OK);
	KEXPECT_EQ((facts.cpu.fn1f[0] >> HOST_FN1F_SEV_SNP) & 1, 1);
	KEXPECT_EQ((facts.cpu.fn1f[0] >> HOST_FN1F_HV_INUSE_WR_ALLOWED) & 1, 0);
	KEXPECT_EQ(facts.cpu.fn1f[1] & 0x3f, 51);      /* C-bit */
	KEXPECT_EQ(facts.cpu.fn1f[2], 509);            /* encrypted guests */
	KEXPECT_EQ(facts.cpu.fn1f[3], 100);            /* minimum SEV ASID */
	KEXPECT(strstr(facts.cpu.product, "Milan") != NULL);

	load("turin-6.16-inuse-wr");
	KEXPECT_EQ(facts.cpu.family, 0x1a);
	KEXPECT_EQ(facts.cpu.model, 0x02);
	KEXPECT_EQ((facts.cpu.fn1f[0] >> HOST_FN1F_HV_INUSE_WR_ALLOWED) & 1, 1);

	load("intel-xeon");
	KEXPECT(!strcmp(facts.cpu.vendor, "GenuineIntel"));
	KEXPECT_EQ(facts.cpu.family, 6);
	KEXPECT_EQ(facts.cpu.model, 0xcf);             /* family 6 takes the extended model too */
	KEXPECT(facts.cpu.product == NULL);
	KEXPECT_EQ(facts.cpu.fn1f_state, HOST_ABSENT);

	load("amd-guest-hidden");
	KEXPECT(facts.cpu.hypervisor);
	KEXPECT_EQ(facts.cpu.fn1f[0], 0);
}

static void test_msr_and_kernel_facts(void)
{
	load("milan-5.19-oot");
	KEXPECT_EQ(facts.msr.syscfg_state, HOST_OK);
	KEXPECT_EQ(facts.msr.syscfg, 0x1f40000);
	KEXPECT_EQ(facts.msr.rmp_base, 0x88900000);
	KEXPECT_EQ(facts.msr.rmp_end, 0xa8efffff);
	KEXPECT(!strcmp(facts.kernel.version, "5.19.0-snp-host-1"));
	KEXPECT_EQ(facts.kernel.major, 5);
	KEXPECT_EQ(facts.kernel.minor, 19);
	KEXPECT(facts.kernel.kvm_symbols);
	KEXPECT(facts.kernel.snp_host_symbols);
	KEXPECT_EQ(facts.kernel.workaround_sym[0], '\0');
	KEXPECT(facts.kernel.kvm_amd_loaded);
	KEXPECT(!strcmp(facts.kernel.sev_snp, "Y"));
	KEXPECT(!strcmp(facts.kernel.avic, "N"));
	KEXPECT_EQ(facts.kernel.dev_sev_state, HOST_OK);
	KEXPECT_EQ(facts.kernel.nr_dmesg, 2);          /* the usb line is not about SEV */
	KEXPECT(facts.kernel.dmesg_rmp);

	load("milan-6.11-noroot");
	KEXPECT_EQ(facts.msr.syscfg_state, HOST_NEEDS_ROOT);
	KEXPECT_EQ(facts.msr.rmp_end_state, HOST_NEEDS_ROOT);
	KEXPECT(!facts.kernel.kvm_amd_loaded);
	KEXPECT_EQ(facts.kernel.dev_sev_state, HOST_ABSENT);

	load("intel-xeon");
	KEXPECT_EQ(facts.msr.syscfg_state, HOST_ABSENT);   /* no msr file: no msr module */

	load("genoa-6.12");
	KEXPECT(!strcmp(facts.kernel.workaround_sym, "snp_safe_alloc_page_node"));
	KEXPECT(!facts.kernel.dmesg_avic_inuse);
	load("genoa-6.13-avic-off");
	KEXPECT(facts.kernel.dmesg_avic_inuse);
}

/* Each fixture host, its verdict and the fact that decided it. */
static void test_fixture_verdicts(void)
{
	static const struct {
		const char *name;
		enum host_verdict v;
		bool exposed;
		const char *fact;
	} cases[] = {
		{ "milan-5.19-oot",      HOST_SNP_EXPOSED,          true,  "kallsyms" },
		{ "genoa-6.12",          HOST_SNP_WORKAROUND,       false, "kallsyms" },
		{ "genoa-6.13-avic-off", HOST_SNP_WORKAROUND,       false, "kallsyms" },
		{ "turin-6.16-inuse-wr", HOST_SNP_INUSE_WR_ALLOWED, false,
		  "cpuid.8000001f.eax.hv_inuse_wr_allowed" },
		{ "milan-6.1-snp-off",   HOST_NOT_SNP_HOST,         false, "msr.syscfg" },
		{ "milan-6.11-noroot",   HOST_SNP_WORKAROUND,       false, "kernel.version" },
		{ "intel-xeon",          HOST_NOT_SNP_HOST,         false, "cpuid.vendor" },
		{ "amd-guest-hidden",    HOST_NOT_SNP_HOST,         false, "cpuid.hypervisor" },
	};
	struct host_report r, again;

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(cases); i++) {
		load(cases[i].name);
		host_decide(&facts, &r);
		if (r.verdict != cases[i].v || r.exposed != cases[i].exposed ||
		    !has_fact(&r, cases[i].fact))
			ktap_fail(__FILE__, __LINE__, "%s: verdict %s exposed %d, want %s %d by %s",
				  cases[i].name, host_verdict_id(r.verdict), r.exposed,
				  host_verdict_id(cases[i].v), cases[i].exposed, cases[i].fact);
		host_decide(&facts, &again);    /* pure: same facts, same report */
		KEXPECT(!memcmp(&r, &again, sizeof(r)));
	}
}

/* Step 1: no SNP bit, or no Fn8000_001F at all, on a bare-metal AMD CPU. */
static void test_decide_cpu_without_snp(void)
{
	struct host_report r;

	load("genoa-6.12");
	facts.cpu.fn1f[0] &= ~(1u << HOST_FN1F_SEV_SNP);
	host_decide(&facts, &r);
	KEXPECT_EQ(r.verdict, HOST_NOT_SNP_HOST);
	KEXPECT(has_fact(&r, "cpuid.8000001f.eax.snp"));

	facts.cpu.fn1f_state = HOST_ABSENT;
	host_decide(&facts, &r);
	KEXPECT_EQ(r.verdict, HOST_NOT_SNP_HOST);
	KEXPECT(has_fact(&r, "cpuid.8000001f"));
}

/* Step 2 without the MSR: the kernel's signs, or its lack of SNP host code. */
static void test_decide_snp_enabled_without_msr(void)
{
	struct host_report r;

	load("milan-5.19-oot");
	facts.msr.syscfg_state = HOST_NEEDS_ROOT;
	facts.kernel.dmesg_rmp = false;
	host_decide(&facts, &r);                 /* kvm_amd sev_snp=Y still shows SNP */
	KEXPECT_EQ(r.verdict, HOST_SNP_EXPOSED);
	KEXPECT(has_fact(&r, "kvm_amd.sev_snp"));

	snprintf(facts.kernel.sev_snp, sizeof(facts.kernel.sev_snp), "N");
	facts.kernel.snp_host_symbols = false;   /* no SNP host code: nobody set SNP_EN */
	host_decide(&facts, &r);
	KEXPECT_EQ(r.verdict, HOST_NOT_SNP_HOST);
	KEXPECT(has_fact(&r, "kallsyms"));

	facts.kernel.snp_host_symbols = true;    /* nothing says either way: assumed on */
	host_decide(&facts, &r);
	KEXPECT_EQ(r.verdict, HOST_SNP_EXPOSED);
	KEXPECT(has_fact(&r, "msr.syscfg"));
	KEXPECT(strstr(r.reasons[0].because, "assumed") != NULL);
}

/* Step 4 when kallsyms cannot tell: v6.9 is the first upstream with the workaround. */
static void test_decide_by_kernel_version(void)
{
	static const struct { unsigned int major, minor; bool exposed; } v[] = {
		{ 5, 19, true }, { 6, 8, true }, { 6, 9, false }, { 6, 12, false }, { 7, 0, false },
	};
	struct host_report r;

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(v); i++) {
		load("milan-5.19-oot");
		facts.kernel.kallsyms_state = HOST_NEEDS_ROOT;
		facts.kernel.major = v[i].major;
		facts.kernel.minor = v[i].minor;
		host_decide(&facts, &r);
		KEXPECT_EQ(r.exposed, v[i].exposed);
		KEXPECT_EQ(r.verdict, v[i].exposed ? HOST_SNP_EXPOSED : HOST_SNP_WORKAROUND);
		KEXPECT(has_fact(&r, "kernel.version"));
	}
}

/* HvInUseWrAllowed decides even without the workaround (AMD's 2025 RFC). */
static void test_decide_inuse_wr_allowed_without_workaround(void)
{
	struct host_report r;

	load("milan-5.19-oot");
	facts.cpu.fn1f[0] |= 1u << HOST_FN1F_HV_INUSE_WR_ALLOWED;
	host_decide(&facts, &r);
	KEXPECT_EQ(r.verdict, HOST_SNP_INUSE_WR_ALLOWED);
	KEXPECT(!r.exposed);
	KEXPECT(has_fact(&r, "cpuid.8000001f.eax.hv_inuse_wr_allowed"));
	for (unsigned int i = 0; i < r.nr_reasons; i++)
		KEXPECT(strstr(r.reasons[i].because, "spurious RMP #PF") == NULL);
}

/* Broken fixtures: SNP_EINVAL and one line naming the file and the bad value. */
static void test_broken_fixtures(void)
{
	static const struct { const char *root, *says; } cases[] = {
		{ FIXTURES "broken-no-cpuid", "broken-no-cpuid/cpuid: No such file" },
		{ FIXTURES "broken-cpuid-garbage", "'banana' is not a 32-bit hex number" },
		{ FIXTURES "broken-cpuid-short-line", "is not 'leaf subleaf eax ebx ecx edx'" },
		{ FIXTURES "broken-missing-leaf", "no line for leaf 0x8000001f" },
		{ FIXTURES "broken-msr-garbage", "'0x1f40000zz' is not a 64-bit hex number" },
		{ FIXTURES "broken-param-garbage", "parameters/sev_snp: 'maybe'" },
		{ FIXTURES "broken-no-version", "proc/version: missing" },
		{ FIXTURES "broken-version-garbage", "does not start with 'Linux version '" },
		{ FIXTURES "does-not-exist", "No such file or directory" },
		{ FIXTURES "intel-xeon/cpuid", "not a folder" },
		{ "", "empty path" },
	};
	char err[512];

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(cases); i++) {
		int ret = host_read_facts(cases[i].root, &facts, err, sizeof(err));

		if (ret != SNP_EINVAL || !strstr(err, cases[i].says) || strchr(err, '\n'))
			ktap_fail(__FILE__, __LINE__, "%s: ret %d, message '%s', want '%s'",
				  cases[i].root, ret, err, cases[i].says);
	}
}

/* A trailing slash does not change the facts or double the slash in messages. */
static void test_root_trailing_slash(void)
{
	char err[512];

	KEXPECT_EQ(host_read_facts(FIXTURES "broken-no-cpuid///", &facts, err, sizeof(err)),
		   SNP_EINVAL);
	KEXPECT(strstr(err, "broken-no-cpuid/cpuid") != NULL);
	KEXPECT_EQ(host_read_facts(FIXTURES "genoa-6.12/", &facts, err, sizeof(err)), 0);
	KEXPECT(!strcmp(facts.root, FIXTURES "genoa-6.12"));
}

/* This machine: facts read without error and a verdict consistent with them. */
static void test_live_machine(void)
{
	struct host_report r;
	char err[512];

	KASSERT_EQ(host_read_facts(NULL, &facts, err, sizeof(err)), 0);
	KEXPECT(facts.live);
	KEXPECT_EQ(strlen(facts.cpu.vendor), 12);
	KEXPECT_EQ(facts.kernel.version_state, HOST_OK);
	KEXPECT(facts.kernel.version[0] != '\0');
	host_decide(&facts, &r);
	KEXPECT(r.nr_reasons > 0);
	KEXPECT_EQ(r.exposed, r.verdict == HOST_SNP_EXPOSED);
	if (strcmp(facts.cpu.vendor, "AuthenticAMD") || facts.cpu.hypervisor)
		KEXPECT_EQ(r.verdict, HOST_NOT_SNP_HOST);
	ktap_log("live: %s %02xh/%02xh, hypervisor %d, kernel %s: %s", facts.cpu.vendor,
		 facts.cpu.family, facts.cpu.model, facts.cpu.hypervisor, facts.kernel.version,
		 host_verdict_text(r.verdict));
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_product_table),
	KTAP_CASE(test_cpu_facts_decoded),
	KTAP_CASE(test_msr_and_kernel_facts),
	KTAP_CASE(test_fixture_verdicts),
	KTAP_CASE(test_decide_cpu_without_snp),
	KTAP_CASE(test_decide_snp_enabled_without_msr),
	KTAP_CASE(test_decide_by_kernel_version),
	KTAP_CASE(test_decide_inuse_wr_allowed_without_workaround),
	KTAP_CASE(test_broken_fixtures),
	KTAP_CASE(test_root_trailing_slash),
	KTAP_CASE(test_live_machine),
};

KTAP_MAIN("host", cases)
