/* SPDX-License-Identifier: MIT */
/* trace_internal.h - helpers shared by the trace, log and replay readers of src/trace. */
#ifndef SNPSAFE_TRACE_INTERNAL_H
#define SNPSAFE_TRACE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * In an array sorted by a leading uint64_t address (each element @stride
 * bytes), the index just past the last element whose address is <= @key:
 * the element holding @key, as a symbol table without sizes attributes a pc,
 * is the one before it (none when 0).
 */
static inline size_t trace_addr_upper_bound(const void *base, size_t n, size_t stride, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t addr;

		memcpy(&addr, (const char *)base + mid * stride, sizeof(addr));
		if (addr <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * A one-line reason for a failed read of a file (a trace, an allocation
 * log) into err, when the caller gave room for one.
 */
void trace_set_err(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Open path for reading (mode "r" or "rb"): the stream, or NULL with *code
 * set and the reason in err, without the path (the caller names the file
 * once): strerror's words, or "a directory, not WHAT" for a directory, which
 * fopen() opens and which would otherwise read as an empty or garbled file.
 * An empty file is the reader's to report, with its own words.
 */
FILE *trace_open_input(const char *path, const char *mode, const char *what, char *err,
		       size_t errlen, int *code);

struct snp_trace;
/* snp_trace_open() for a reader that reports to a user: its error names path once, "PATH: why". */
int trace_open_named(const char *path, struct snp_trace **out, char *err, size_t errlen);

#endif
