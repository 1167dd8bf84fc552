// SPDX-License-Identifier: MIT
/*
 * mc_progress.c - the line `snpsafe simulate` redraws on a terminal while
 * its trials run: a bar, trials done (of the shard, with --shard), the rate
 * and the time left at it, and each strategy's running exposed
 * aligned fraction with its 95% interval, so a long run shows where its
 * estimates are heading and how fast the intervals narrow.
 */
#include <snpsafe/sim.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BAR_WIDTH 10   /* narrow, so an 80-column terminal has room for naive's interval */

/* Append to buf[*used..len) what fits; false (nothing appended) if it does not all fit in cols. */
static bool append(char *buf, size_t len, size_t *used, unsigned int cols, const char *fmt, ...)
{
	char piece[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(piece, sizeof(piece), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(piece) || *used + (size_t)n > cols || *used + (size_t)n >= len)
		return false;
	memcpy(buf + *used, piece, (size_t)n + 1);
	*used += (size_t)n;
	return true;
}

/* A fraction as a percentage, 2 significant digits below 10%: "0%", "0.52%", "12%", "100%". */
static const char *pct(double x, char *out, size_t len)
{
	if (x <= 0)
		snprintf(out, len, "0%%");
	else if (x < 0.1)
		snprintf(out, len, "%.2g%%", 100 * x);
	else
		snprintf(out, len, "%.0f%%", 100 * x);
	return out;
}

/* A duration in seconds, rounded up, as "42s", "7m05s" or "3h20m". */
static const char *duration(double s, char *out, size_t len)
{
	unsigned long long x = s > 0 ? (unsigned long long)ceil(s) : 0;

	if (x < 60)
		snprintf(out, len, "%llus", x);
	else if (x < 3600)
		snprintf(out, len, "%llum%02llus", x / 60, x % 60);
	else
		snprintf(out, len, "%lluh%02llum", x / 3600, x / 60 % 60);
	return out;
}

/*
 * " 2.5 trials/s, 1m04s left": the rate over the run so far and the time the
 * trials left take at it; nothing before a trial is done (no rate to tell).
 */
static bool append_rate(const struct sim_mc_progress *p, char *buf, size_t len, size_t *used,
			unsigned int cols)
{
	char left[24];
	double rate;

	if (!p->done || !(p->elapsed > 0) || p->done > p->total)
		return true;
	rate = (double)p->done / p->elapsed;
	return append(buf, len, used, cols, " %.3g trials/s, %s left", rate,
		      duration((double)(p->total - p->done) / rate, left, sizeof(left)));
}

char *sim_mc_progress_format(const struct sim_mc_progress *p, unsigned int width, char *buf, size_t len)
{
	unsigned int filled, percent;
	size_t used = 0;
	char a[16], b[16], c[16];

	if (!buf || !len)
		return buf;
	buf[0] = '\0';
	if (!p || !p->total)
		return buf;
	percent = (unsigned int)(p->done * 100 / p->total);
	filled = (unsigned int)(p->done * BAR_WIDTH / p->total);
	if (!append(buf, len, &used, width, "[%.*s%*s] %3u%% (%llu/%llu)", (int)filled,
		    "==========", (int)(BAR_WIDTH - filled), "", percent,
		    (unsigned long long)p->done, (unsigned long long)p->total) ||
	    !append_rate(p, buf, len, &used, width))
		return buf;
	if (!p->nr || !append(buf, len, &used, width, "  exposed aligned 95%%:"))
		return buf;
	for (unsigned int s = 0; s < p->nr && s < SNP_ALLOC_NR_STRATEGIES; s++) {
		const char *name = snp_alloc_strategy_name(p->strategy[s]);
		bool fits;

		if (!p->exposed[s])   /* nothing exposed yet (or no trial done): no rate to show */
			fits = append(buf, len, &used, width, " %s -", name);
		else
			fits = append(buf, len, &used, width, " %s %s [%s,%s]", name,
				      pct((double)p->exposed_aligned[s] / (double)p->exposed[s], a, sizeof(a)),
				      pct(p->lo[s], b, sizeof(b)), pct(p->hi[s], c, sizeof(c)));
		if (!fits)
			break;
	}
	return buf;
}

char *sim_rate_format(double x, char *buf, size_t len)
{
	if (!buf || !len)
		return buf;
	if (isnan(x))   /* a rate over no observation */
		snprintf(buf, len, "%7s", "n/a");
	else
		snprintf(buf, len, x > 0 && x < 0.000005 ? "%7.1e" : "%7.5f", x);
	return buf;
}
