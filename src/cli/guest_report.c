// SPDX-License-Identifier: MIT
/*
 * guest_report.c - `simulate --guest`: the guest-side VMSA strategies
 * (snpsafe/guest_vmsa.h) run at boot and aged, printed as text or JSON.
 */
#include "guest_report.h"

#include <math.h>
#include <string.h>

int cli_guest_parse(const char *v, unsigned int *mask)
{
	enum guest_vmsa_strategy s;

	if (!strcmp(v, "all")) {
		*mask = (1u << GUEST_VMSA_NR_STRATEGIES) - 1;
		return 0;
	}
	if (!strcmp(v, "off")) {
		*mask = 0;
		return 0;
	}
	if (guest_vmsa_strategy_parse(v, &s))
		return SNP_EINVAL;
	*mask = 1u << s;
	return 0;
}

static const char *guest_name(unsigned int i)
{
	return guest_vmsa_strategy_name((enum guest_vmsa_strategy)i);
}

void cli_guest_option_text(char *help, size_t hlen, char *valid, size_t vlen)
{
	char names[CLI_GUEST_VALID_MAX];

	cli_join_names(guest_name, GUEST_VMSA_NR_STRATEGIES, names, sizeof(names));
	snprintf(valid, vlen, "%s, all, off", names);
	snprintf(help, hlen, "guest-side VMSA strategies: S one of %s; all; or off (default: all "
		 "with --mix snp alone, else off)", names);
}

int cli_guest_simulate(unsigned int mask, uint64_t seed, struct cli_guest_report *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int s = 0; s < GUEST_VMSA_NR_STRATEGIES; s++) {
		for (unsigned int aged = 0; (mask & (1u << s)) && aged < 2; aged++) {
			struct cli_guest_row *row = &out->rows[out->n++];
			struct guest_vmsa_config c;
			int ret;

			guest_vmsa_config_init(&c, (enum guest_vmsa_strategy)s);
			c.mem_bytes = CLI_GUEST_MEM;
			c.nr_vcpus = CLI_GUEST_APS;
			c.rounds = CLI_GUEST_ROUNDS;
			c.seed = seed;
			c.aged = aged;
			row->strategy = c.strategy;
			row->aged = aged;
			ret = guest_vmsa_run(&c, &row->r);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* a / b, or NAN over nothing (text n/a, JSON null): retry at boot creates no VMSA. */
static double frac(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : NAN;
}

static void guest_legend(void)
{
	char guest[512];
	const struct cli_legend l[] = {
		{ "guest", guest },
		{ "state", "boot (a fresh guest allocator) or aged (vCPU hotplug later in the "
			   "guest's life)" },
		{ "VMSAs", "VMSAs created in all rounds" },
		{ "aligned", "of them, on a 2MB-aligned page" },
		{ "aligned frac", "aligned / VMSAs, n/a when none was created" },
		{ "failed", "VMSA allocations that failed (snp_alloc_vmsa_page errors)" },
		{ "retries", "pages the retry loop freed and asked for again" },
		{ "pages kept", "guest free pages lost while the last round's VMSAs are held (the "
				"sieve's set-aside pages included)" },
		{ "kept/VMSA", "pages kept / the APs of the last round (one VMSA each)" },
	};

	snprintf(guest, sizeof(guest), "the guest's VMSA allocation, linux = snp_alloc_vmsa_page "
		 "(keeps the second page of an order-1 pair), edk2 = SevSnpCreateSaveArea, svsm = "
		 "COCONUT-SVSM (keeps both pages), retry = the free-and-retry loop COCONUT's review "
		 "rejected (gives up after %u tries here), sieve = ours, naive = no rule "
		 "(counterfactual)", GUEST_VMSA_RETRY_MAX + 1);
	cli_print_legend(l, sizeof(l) / sizeof(l[0]));
}

void cli_guest_print_text(const struct cli_guest_report *g)
{
	printf("\nGuest side: an SNP guest creating the VMSAs of its own vCPUs (AP creation); a\n"
	       "256 MiB guest, %u APs brought up %u times (offline between), at boot and aged:\n",
	       CLI_GUEST_APS, CLI_GUEST_ROUNDS);
	printf("%-7s %-5s %7s %8s %12s %7s %8s %11s %10s\n", "guest", "state", "VMSAs", "aligned",
	       "aligned frac", "failed", "retries", "pages kept", "kept/VMSA");
	for (unsigned int i = 0; i < g->n; i++) {
		const struct cli_guest_row *row = &g->rows[i];
		char af[32], kept[32];

		printf("%-7s %-5s %7llu %8llu %12s %7llu %8llu %11llu %10s\n",
		       guest_vmsa_strategy_name(row->strategy), row->aged ? "aged" : "boot",
		       (unsigned long long)row->r.vmsas, (unsigned long long)row->r.aligned,
		       cli_fmt_fixed(frac(row->r.aligned, row->r.vmsas), 5, af, sizeof(af)),
		       (unsigned long long)row->r.failures,
		       (unsigned long long)row->r.retries, (unsigned long long)row->r.pages_kept,
		       cli_fmt_fixed(frac(row->r.pages_kept, row->r.nr_vcpus), 2, kept, sizeof(kept)));
	}
	guest_legend();
}

void cli_guest_print_json(struct json *j, const struct cli_guest_report *g)
{
	json_obj_begin(j, "guest");
	json_u64(j, "mem_bytes", CLI_GUEST_MEM);
	json_u64(j, "aps", CLI_GUEST_APS);
	json_u64(j, "rounds", CLI_GUEST_ROUNDS);
	json_arr_begin(j, "results");
	for (unsigned int i = 0; i < g->n; i++) {
		const struct cli_guest_row *row = &g->rows[i];

		json_obj_begin(j, NULL);
		json_str(j, "strategy", guest_vmsa_strategy_name(row->strategy));
		json_str(j, "state", row->aged ? "aged" : "boot");
		json_u64(j, "vmsas", row->r.vmsas);
		json_u64(j, "aligned", row->r.aligned);
		json_double(j, "aligned_fraction", frac(row->r.aligned, row->r.vmsas));
		json_u64(j, "failures", row->r.failures);
		json_u64(j, "retries", row->r.retries);
		json_u64(j, "free_before", row->r.free_before);
		json_u64(j, "free_after", row->r.free_after);
		json_u64(j, "pages_kept", row->r.pages_kept);
		json_double(j, "pages_kept_per_vmsa", frac(row->r.pages_kept, row->r.nr_vcpus));
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}
