// SPDX-License-Identifier: MIT
/*
 * fragment.c - run inside the guest before VMs are created
 * (kernel/guest-measure.sh, stage "loaded"): leave the page allocator with
 * no free block of order 1 or more that a GFP_KERNEL request may take, and
 * hold that state until killed.
 *
 * How: take free memory as anonymous order-0 pages (MADV_NOHUGEPAGE), page
 * by page on every CPU, until /proc/buddyinfo shows no free block of order 1 or more in
 * the zones user pages may use; then give back every page whose pfn is even
 * (its buddy, the odd pfn, stays held by us or by someone else), so the
 * freed pages are order 0 and cannot merge.  The held pages are movable:
 * an order-1 request can still be met by compaction, which migrates them,
 * at a cost the caller pays (compact_stall in /proc/vmstat), or else by
 * reclaim and the OOM killer.  Lower watermarks while taking the memory let
 * the take go nearly to zero free pages, in every zone: during the take
 * /proc/sys/vm/min_free_kbytes is 128 and lowmem_reserve_ratio 0 (no zone
 * keeps pages back from allocations that could use a higher zone), both
 * restored before "ready", so what little stays free in the DMA zone is
 * again reserved from GFP_KERNEL and user allocations alike.  Proactive
 * compaction (vm.compaction_proactiveness) is set to 0 and left so: kcompactd
 * would otherwise migrate the held pages in the background and rebuild large
 * free blocks before any VM asks (seen: 20 free order-10 blocks within
 * seconds); an allocation that needs an order-1 block still gets direct
 * compaction, which is what this measures.
 *
 * Usage: fragment READY_FILE
 * Prints what it did; writes READY_FILE when the state is in place; then
 * holds it until SIGTERM.  The take runs in one worker per online CPU, each
 * pinned to its CPU (see worker()).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAX_ORDER_SEEN 11

/* Free blocks of order >= 1 over every zone. */
static long higher_order_free(void)
{
	char line[512], zone[32];
	long n = 0;
	FILE *f = fopen("/proc/buddyinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "zone");
		long c[MAX_ORDER_SEEN];
		int k;

		if (!p || sscanf(p, "zone %31s %n", zone, &k) != 1)
			continue;
		p += k;
		for (int o = 0; o < MAX_ORDER_SEEN; o++) {
			int used;

			if (sscanf(p, "%ld%n", &c[o], &used) != 1)
				break;
			p += used;
			if (o >= 1)
				n += c[o];
		}
	}
	fclose(f);
	return n;
}

static long meminfo_kb(const char *key)
{
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, s, strlen(s));
	close(fd);
	return w == (ssize_t)strlen(s) ? 0 : -1;
}

static int read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, len - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	return 0;
}

static volatile sig_atomic_t terminated;

static void on_term(int sig)
{
	(void)sig;
	terminated = 1;
}

/*
 * One worker per online CPU, pinned to it: each takes pages through its own
 * CPU's per-CPU list, so no CPU's list keeps free pages hidden from
 * /proc/buddyinfo that would merge into large blocks when drained later.
 * Each then gives back its even-pfn pages and tells the parent how many.
 */
static int worker(int cpu, size_t pages, int report)
{
	size_t taken = 0, freed = 0, unknown = 0;
	cpu_set_t set;
	uint8_t *base;
	int pm;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return 1;
	base = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED || madvise(base, pages * PAGE, MADV_NOHUGEPAGE))
		return 1;
	while (taken < pages) {
		base[taken++ * PAGE] = 1;
		if (taken % 256 && meminfo_kb("MemFree") > 16384)
			continue;
		if (higher_order_free() == 0 || meminfo_kb("MemFree") < 512)
			break;
	}
	/* Everyone stops taking before anyone gives back. */
	if (write(report, &taken, sizeof(taken)) != sizeof(taken))
		return 1;
	if (read(report, &freed, sizeof(freed)) != sizeof(freed))
		return 1;
	freed = 0;
	pm = open("/proc/self/pagemap", O_RDONLY);
	if (pm < 0)
		return 1;
	for (size_t i = 0; i < taken; i++) {
		uint64_t e;

		if (pread(pm, &e, sizeof(e), (off_t)((uintptr_t)(base + i * PAGE) / PAGE * 8)) != sizeof(e) ||
		    !(e >> 63) || !(e & ((1ULL << 55) - 1))) {
			unknown++;
			continue;
		}
		if ((e & ((1ULL << 55) - 1)) % 2 == 0) {
			madvise(base + i * PAGE, PAGE, MADV_DONTNEED);
			freed++;
		}
	}
	close(pm);
	if (write(report, &freed, sizeof(freed)) != sizeof(freed) ||
	    write(report, &unknown, sizeof(unknown)) != sizeof(unknown))
		return 1;
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	size_t taken = 0, freed = 0, unknown = 0, pages;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), sv[64][2];
	char old_min[64], old_ratio[128];
	pid_t pid[64];
	FILE *ready;
	long free_kb;

	if (argc != 2) {
		fprintf(stderr, "usage: fragment READY_FILE\n");
		return 2;
	}
	if (ncpu < 1 || ncpu > 64) {
		fprintf(stderr, "fragment: %d CPUs (1 to 64)\n", ncpu);
		return 1;
	}
	if (read_str("/proc/sys/vm/min_free_kbytes", old_min, sizeof(old_min)) ||
	    read_str("/proc/sys/vm/lowmem_reserve_ratio", old_ratio, sizeof(old_ratio)) ||
	    write_str("/proc/sys/vm/min_free_kbytes", "128") ||
	    write_str("/proc/sys/vm/lowmem_reserve_ratio", "0 0 0 0") ||
	    write_str("/proc/sys/vm/compaction_proactiveness", "0")) {
		perror("fragment: vm sysctls");
		return 1;
	}
	free_kb = meminfo_kb("MemFree");
	if (free_kb <= 0) {
		fprintf(stderr, "fragment: no MemFree\n");
		return 1;
	}
	pages = (size_t)free_kb * 1024 / PAGE;	/* each worker may take all */
	for (int c = 0; c < ncpu; c++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv[c]))
			return 1;
		pid[c] = fork();
		if (pid[c] < 0)
			return 1;
		if (pid[c] == 0) {
			close(sv[c][0]);
			_exit(worker(c, pages, sv[c][1]));
		}
		close(sv[c][1]);
	}
	for (int c = 0; c < ncpu; c++) {
		size_t n;

		if (read(sv[c][0], &n, sizeof(n)) != sizeof(n)) {
			fprintf(stderr, "fragment: worker %d failed\n", c);
			return 1;
		}
		taken += n;
	}
	printf("took %zu pages on %d CPUs, MemFree %ld kB, free blocks of order >= 1: %ld\n",
	       taken, ncpu, meminfo_kb("MemFree"), higher_order_free());
	for (int c = 0; c < ncpu; c++)
		if (write(sv[c][0], &taken, sizeof(taken)) != sizeof(taken))
			return 1;
	for (int c = 0; c < ncpu; c++) {
		size_t f, u;

		if (read(sv[c][0], &f, sizeof(f)) != sizeof(f) || read(sv[c][0], &u, sizeof(u)) != sizeof(u)) {
			fprintf(stderr, "fragment: worker %d failed\n", c);
			return 1;
		}
		freed += f;
		unknown += u;
	}
	if (write_str("/proc/sys/vm/min_free_kbytes", old_min) ||
	    write_str("/proc/sys/vm/lowmem_reserve_ratio", old_ratio)) {
		perror("fragment: restoring vm sysctls");
		return 1;
	}
	printf("gave back %zu even-pfn pages, holding %zu, %zu without a pfn; MemFree %ld kB; "
	       "free blocks of order >= 1: %ld\n",
	       freed, taken - freed - unknown, unknown, meminfo_kb("MemFree"), higher_order_free());
	fflush(stdout);
	ready = fopen(argv[1], "w");
	if (!ready || fputs("ready\n", ready) < 0 || fclose(ready)) {
		perror("fragment: ready file");
		return 1;
	}
	/* Held until SIGTERM (kernel/guest-measure.sh, stage "done"); the workers go with us. */
	signal(SIGTERM, on_term);
	while (!terminated)
		pause();
	for (int c = 0; c < ncpu; c++)
		kill(pid[c], SIGKILL);
	return 0;
}
