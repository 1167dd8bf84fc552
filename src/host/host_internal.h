/* SPDX-License-Identifier: MIT */
/*
 * host_internal.h - private to src/host/host_*.c: the fact source (live
 * machine or fixture folder) and its readers.
 */
#ifndef SNPSAFE_SIM_HOST_INTERNAL_H
#define SNPSAFE_SIM_HOST_INTERNAL_H

#include <snpsafe/host.h>

#include <stddef.h>

struct host_src {
	const char *root;   /* NULL: the live machine */
	char *err;          /* one-line message for SNP_EINVAL */
	size_t errlen;
};

SNP_MUST_CHECK int host_err(struct host_src *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void host_path(const struct host_src *s, const char *path, char *out, size_t len);
enum host_state host_errno_state(int e);
enum host_state host_read_small(const struct host_src *s, const char *path, char *buf, size_t len);
enum host_state host_exists(const struct host_src *s, const char *path);

SNP_MUST_CHECK int host_cpuid(struct host_src *s, uint32_t leaf, uint32_t sub, uint32_t r[4]);
enum host_state host_cpuid_dev_check(uint32_t leaf, const uint32_t want[4], bool *agrees);
SNP_MUST_CHECK int host_msr(struct host_src *s, uint32_t msr, uint64_t *val, enum host_state *st);

/*
 * A fixture's files must be files: a directory where one belongs is a broken
 * fixture, one line and SNP_EINVAL, never read as an absent fact.
 */
SNP_MUST_CHECK int host_fixture_check(struct host_src *s);

/* host_kernel.c */
#define HOST_NR_PARAMS 4
/* kvm_amd's parameters read, under /sys/module/kvm_amd/parameters/. */
extern const char *const host_kvm_amd_params[HOST_NR_PARAMS];
SNP_MUST_CHECK int host_read_kernel(struct host_src *s, struct host_kernel *k);

#endif
