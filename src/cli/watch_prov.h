/* SPDX-License-Identifier: MIT */
/*
 * watch_prov.h - `snpsafe watch`'s provenance, pool and free-page figures:
 * the run's allocation log (OUT/alloc.log) joined with its trace, printed
 * as text or JSON from the same structures (docs/WATCH.md "Provenance").
 */
#ifndef SNPSAFE_CLI_WATCH_PROV_H
#define SNPSAFE_CLI_WATCH_PROV_H

#include "cli.h"

#include <snpsafe/provenance.h>

struct watch_prov {
	bool recorded;                 /* false: a run folder from before alloc.log */
	struct snp_alloc_log log;
	struct snp_provenance prov;
};

/*
 * Read OUT/alloc.log and join it with the trace.  A missing log is "not
 * recorded" when @may_be_missing (--again on an older run folder) and an
 * error otherwise.  0, or a negative code with a one-line reason in err.
 * Free with watch_prov_free() in every case.
 */
SNP_MUST_CHECK int watch_prov_load(const char *out, const char *trace, bool may_be_missing,
				   struct watch_prov *w, char *err, size_t errlen);
void watch_prov_free(struct watch_prov *w);
void watch_prov_print_text(const struct watch_prov *w);
/* Adds the keys "provenance", "pool" and "free_pages" to the open JSON object. */
void watch_prov_print_json(struct json *j, const struct watch_prov *w);

#endif
