// SPDX-License-Identifier: MIT
/*
 * host_check.c - `snpsafe host`: gather the CPU and MSR facts of a real or
 * fixture host (host_read.c, host_kernel.c) and decide whether it is
 * exposed to the SNP in-use erratum.  Each rule is documented, with its
 * source, in docs/HOST.md; the decision is a pure function of the facts.
 */
#include "host_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define LEAF_MEM_ENC 0x8000001fu

/*
 * AMD's public names for the server parts by CPUID family/model, from the
 * titles of AMD's Processor Programming References ("PPR for AMD Family
 * 19h Model 01h" is Milan, ...).  Small on purpose: anything else is
 * reported as not in the table.
 */
static const struct {
	unsigned int family, model_lo, model_hi;
	const char *name;
} products[] = {
	{ 0x17, 0x01, 0x01, "Naples (EPYC 7001, Zen 1)" },
	{ 0x17, 0x31, 0x31, "Rome (EPYC 7002, Zen 2)" },
	{ 0x19, 0x01, 0x01, "Milan (EPYC 7003, Zen 3)" },
	{ 0x19, 0x11, 0x11, "Genoa (EPYC 9004, Zen 4)" },
	{ 0x19, 0xa0, 0xaf, "Bergamo/Siena (EPYC 97x4/8004, Zen 4c)" },
	{ 0x1a, 0x02, 0x02, "Turin (EPYC 9005, Zen 5)" },
	{ 0x1a, 0x11, 0x11, "Turin dense (EPYC 9005, Zen 5c)" },
};

const char *host_product_line(unsigned int family, unsigned int model)
{
	for (size_t i = 0; i < sizeof(products) / sizeof(products[0]); i++)
		if (products[i].family == family && model >= products[i].model_lo &&
		    model <= products[i].model_hi)
			return products[i].name;
	return NULL;
}

const char *host_state_text(enum host_state s)
{
	switch (s) {
	case HOST_OK:         return "ok";
	case HOST_ABSENT:     return "absent";
	case HOST_NEEDS_ROOT: return "unknown (needs root)";
	}
	return "?";
}

/* ---- CPU ---- */

/* CPUID 1 EAX: the extended family/model fields count only for base family 0xf (and 6). */
static void decode_signature(struct host_cpu *c, uint32_t eax)
{
	unsigned int base = (eax >> 8) & 0xf;

	c->family = base == 0xf ? base + ((eax >> 20) & 0xff) : base;
	c->model = (eax >> 4) & 0xf;
	if (base == 0xf || base == 0x6)
		c->model |= ((eax >> 16) & 0xf) << 4;
	c->stepping = eax & 0xf;
}

/* A leaf the fixture must have: its absence is a broken fixture, not a fact. */
static SNP_MUST_CHECK int need_leaf(struct host_src *s, uint32_t leaf, uint32_t r[4], const char *why)
{
	int ret = host_cpuid(s, leaf, 0, r);

	if (ret == SNP_ENOENT)
		return host_err(s, "%s/cpuid: no line for leaf 0x%x subleaf 0 (%s)", s->root, leaf, why);
	return ret;
}

static SNP_MUST_CHECK int read_cpu(struct host_src *s, struct host_cpu *c)
{
	uint32_t l0[4], r[4];
	int ret;

	snprintf(c->source, sizeof(c->source), "%s", s->root ? "fixture cpuid file" : "cpuid instruction");
	ret = need_leaf(s, 0, l0, "the vendor");
	if (ret)
		return ret;
	memcpy(c->vendor, &l0[1], 4);
	memcpy(c->vendor + 4, &l0[3], 4);
	memcpy(c->vendor + 8, &l0[2], 4);
	c->vendor[12] = '\0';
	ret = need_leaf(s, 1, r, "family, model, stepping");
	if (ret)
		return ret;
	decode_signature(c, r[0]);
	c->hypervisor = r[2] >> 31;
	ret = need_leaf(s, 0x80000000u, r, "the largest extended leaf");
	if (ret)
		return ret;
	c->max_ext_leaf = r[0];
	c->fn1f_state = HOST_ABSENT;
	if (c->max_ext_leaf >= LEAF_MEM_ENC && c->max_ext_leaf < 0x80010000u) {
		ret = need_leaf(s, LEAF_MEM_ENC, c->fn1f, "leaf 0x80000000 says it exists");
		if (ret)
			return ret;
		c->fn1f_state = HOST_OK;
	}
	if (!strcmp(c->vendor, "AuthenticAMD"))
		c->product = host_product_line(c->family, c->model);
	c->dev_state = HOST_ABSENT;
	if (!s->root)
		c->dev_state = host_cpuid_dev_check(c->fn1f_state == HOST_OK ? LEAF_MEM_ENC : 0,
						    c->fn1f_state == HOST_OK ? c->fn1f : l0,
						    &c->dev_agrees);
	return 0;
}

static SNP_MUST_CHECK int read_msrs(struct host_src *s, struct host_msr *m)
{
	int ret;

	snprintf(m->source, sizeof(m->source), "%s", s->root ? "fixture msr file" : "/dev/cpu/0/msr");
	ret = host_msr(s, HOST_MSR_SYSCFG, &m->syscfg, &m->syscfg_state);
	if (!ret)
		ret = host_msr(s, HOST_MSR_RMP_BASE, &m->rmp_base, &m->rmp_base_state);
	if (!ret)
		ret = host_msr(s, HOST_MSR_RMP_END, &m->rmp_end, &m->rmp_end_state);
	m->state = m->syscfg_state;
	return ret;
}

int host_read_facts(const char *root, struct host_facts *f, char *err, size_t errlen)
{
	struct host_src s = { NULL, err, errlen };
	struct stat st;
	size_t n;
	int ret;

	memset(f, 0, sizeof(*f));
	if (errlen)
		err[0] = '\0';
	f->live = !root;
	if (root) {
		if (!*root)
			return host_err(&s, "--root: empty path");
		if (stat(root, &st))
			return host_err(&s, "--root '%s': %s", root, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return host_err(&s, "--root '%s': not a folder", root);
		if (strlen(root) >= sizeof(f->root))
			return host_err(&s, "--root: path longer than %zu bytes", sizeof(f->root) - 1);
		snprintf(f->root, sizeof(f->root), "%s", root);
		/* "DIR/" -> "DIR", so that DIR + "/proc/version" reads well; "/" stays "/" with "" */
		for (n = strlen(f->root); n > 0 && f->root[n - 1] == '/'; n--)
			f->root[n - 1] = '\0';
		s.root = f->root;
		if (host_fixture_check(&s))
			return SNP_EINVAL;
	}
	ret = read_cpu(&s, &f->cpu);
	if (!ret)
		ret = read_msrs(&s, &f->msr);
	if (!ret)
		ret = host_read_kernel(&s, &f->kernel);
	return ret;
}
