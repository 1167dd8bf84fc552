// SPDX-License-Identifier: MIT
/*
 * workload.c - what `snpsafe watch` runs inside the watched kernel, built
 * static: N VM slots, each creating a VM of M vCPUs through /dev/kvm, running
 * tiny real-mode guests that exit to KVM periodically (an OUT every few
 * thousand loop iterations), destroying the VM after its lifetime and
 * creating the next, until the run's time is up; and, beside them, host
 * threads that write through the kernel direct map: page-cache writes to a
 * tmpfs file and anonymous memory faulted in (zeroed by the kernel) and
 * freed.  The vCPU pages KVM allocates therefore come from an allocator
 * that other work keeps using.
 *
 * Prints one closing line "snpsafe-workload: key=value ..." for the host.
 *
 * With --age-rounds N (> 0) it is the ager instead (watch --age-rounds,
 * docs/WATCH.md "An aged host"): N rounds of page cache, anonymous memory,
 * slab objects and VM churn, each keeping a share of what it made, so that
 * the host the workload then runs on has used and fragmented memory the way
 * a host that has run a while has.  It prints "snpsafe-age: key=value ...",
 * creates AGE_DIR/.ready and holds what it kept until it is killed.
 */
#define _GNU_SOURCE
#include <linux/kvm.h>

#include <signal.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GUEST_MEM   0x10000
#define GUEST_ENTRY 0x1000
#define PORT        0x10

/* mov cx, LOOPS; l: loop l; out PORT, al; jmp entry -- an exit every LOOPS iterations. */
static const uint8_t guest_code[] = {
	0xb9, 0x00, 0x10,         /* mov cx, 0x1000 */
	0xe2, 0xfe,               /* loop $ */
	0xe6, PORT,               /* out PORT, al */
	0xeb, 0xf7,               /* jmp GUEST_ENTRY */
};

static struct {
	unsigned int vms, vcpus, host_threads;
	unsigned int age_rounds;
	uint64_t age_seed;
	double seconds, lifetime;
	int kvm;
	int mmap_size;
	double deadline;
} cfg = { .vms = 4, .vcpus = 2, .host_threads = 1, .seconds = 5, .lifetime = 0 };

static atomic_ulong vms_created, vcpus_created, vcpus_ran, vcpus_stuck, exits, failures, host_bytes;

/*
 * A vCPU that has not come back to user space GRACE seconds after its VM's
 * end is stuck in the kernel (seen under TCG: KVM re-entering the guest
 * forever on one exit it handles itself).  A signal ends its KVM_RUN
 * (-EINTR), and it is counted as stuck instead of hanging the run.
 */
#define GRACE 5.0

static void on_kick(int sig)
{
	(void)sig;
}
static atomic_bool stop;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void fail(const char *what)
{
	fprintf(stderr, "snpsafe-workload: %s: %s\n", what, strerror(errno));
	atomic_fetch_add(&failures, 1);
}

struct vcpu_run {
	int fd;
	struct kvm_run *run;
	double until;
};

/*
 * Run one vCPU until its VM's lifetime ends, and at least until its first
 * exit: every vCPU created reaches VMRUN, so the recording sees every VMCB
 * the kernel allocated.
 */
static void *vcpu_thread(void *arg)
{
	struct vcpu_run *v = arg;
	bool ran = false;

	while ((now() < v->until || !ran) && !atomic_load(&stop)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR && now() > v->until + GRACE) {
				atomic_fetch_add(&vcpus_stuck, 1);
				return NULL;
			}
			if (errno == EINTR)
				continue;
			fail("KVM_RUN");
			break;
		}
		if (v->run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "snpsafe-workload: unexpected exit reason %u\n",
				v->run->exit_reason);
			atomic_fetch_add(&failures, 1);
			break;
		}
		atomic_fetch_add(&exits, 1);
		ran = true;
	}
	if (ran)
		atomic_fetch_add(&vcpus_ran, 1);
	return NULL;
}

static int setup_vcpu(int vm, unsigned int id, struct vcpu_run *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = GUEST_ENTRY, .rflags = 2 };

	v->fd = ioctl(vm, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return fail("KVM_CREATE_VCPU"), -1;
	atomic_fetch_add(&vcpus_created, 1);
	v->run = mmap(NULL, (size_t)cfg.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		return fail("mmap kvm_run"), -1;
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS"), -1;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_SREGS/REGS"), -1;
	return 0;
}

/* One VM's life: create, run every vCPU until `until`, destroy. */
static void vm_life(double until)
{
	struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0,
						       .memory_size = GUEST_MEM };
	struct vcpu_run *v = calloc(cfg.vcpus, sizeof(*v));
	pthread_t *t = calloc(cfg.vcpus, sizeof(*t));
	unsigned int started = 0;
	uint8_t *mem;
	int vm;

	if (!v || !t)
		goto out_free;
	vm = ioctl(cfg.kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fail("KVM_CREATE_VM");
		goto out_free;
	}
	atomic_fetch_add(&vms_created, 1);
	mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fail("mmap guest memory");
		goto out_vm;
	}
	memcpy(mem + GUEST_ENTRY, guest_code, sizeof(guest_code));
	region.userspace_addr = (uint64_t)(uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		fail("KVM_SET_USER_MEMORY_REGION");
		goto out_mem;
	}
	for (unsigned int i = 0; i < cfg.vcpus; i++) {
		v[i].fd = -1;
		v[i].until = until;
		if (setup_vcpu(vm, i, &v[i]))
			break;
		if (pthread_create(&t[i], NULL, vcpu_thread, &v[i])) {
			fail("pthread_create");
			break;
		}
		started++;
	}
	for (unsigned int i = 0; i < started; i++) {
		/* Past the grace period, kick a vCPU still in KVM_RUN until it returns. */
		while (pthread_tryjoin_np(t[i], NULL)) {
			if (now() > until + GRACE)
				pthread_kill(t[i], SIGUSR1);
			usleep(100000);
		}
	}
	for (unsigned int i = 0; i < cfg.vcpus; i++) {
		if (v[i].run && v[i].run != MAP_FAILED)
			munmap(v[i].run, (size_t)cfg.mmap_size);
		if (v[i].fd >= 0)
			close(v[i].fd);
	}
out_mem:
	munmap(mem, GUEST_MEM);
out_vm:
	close(vm);
out_free:
	free(v);
	free(t);
}

static void *vm_slot(void *arg)
{
	while (!atomic_load(&stop)) {
		double t = now(), until = cfg.lifetime > 0 ? t + cfg.lifetime : cfg.deadline;

		if (t >= cfg.deadline)
			break;
		vm_life(until < cfg.deadline ? until : cfg.deadline);
	}
	return NULL;
}

/* Host work through the direct map: page-cache writes and anonymous memory. */
static void *host_thread(void *arg)
{
	char path[64], buf[65536];
	unsigned long n = (unsigned long)(uintptr_t)arg;

	memset(buf, 0x5a, sizeof(buf));
	snprintf(path, sizeof(path), "/tmp/snpsafe-host-%lu", n);
	while (!atomic_load(&stop) && now() < cfg.deadline) {
		int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

		if (fd < 0)
			return fail("open tmpfs file"), NULL;
		for (int i = 0; i < 64; i++)
			if (write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf))
				atomic_fetch_add(&host_bytes, sizeof(buf));
		close(fd);
		unlink(path);             /* frees the page cache pages */
		size_t len = 4u << 20;
		uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p != MAP_FAILED) {
			for (size_t off = 0; off < len; off += 4096)
				p[off] = 1;       /* each fault zeroes a page through the direct map */
			munmap(p, len);
		}
	}
	return NULL;
}

/* ---- the ager (--age-rounds N): a host that has run a while ------------------------ */

#define AGE_MAX_ROUNDS    32      /* kept pipes and sockets stay under the file limit */
#define AGE_DIR_DEFAULT   "/age"  /* a tmpfs of its own (watch/init.sh mounts it) */
/*
 * Kept over all rounds, % of MemTotal: with the ~5% a fresh guest already
 * uses (docs/WATCH.md), about half of memory is in use when the workload
 * starts.  The target is fixed by MemTotal alone, so a seed gives the same
 * sizes and the same frees on every boot of a machine.
 */
#define AGE_KEEP_PCT      45
#define AGE_MAKE_X2       5       /* a round makes 2.5 times what it keeps, frees the rest */
#define AGE_ROUND_MAX_PCT 30      /* but at most this % of MemTotal */
#define AGE_FLOOR_PCT     10      /* and stops making below this % of MemTotal available */
#define AGE_SMALL_FILES   4000    /* empty files per round: dentries and shmem inodes */
#define AGE_PIPES         64      /* per round, each holding one page in its buffer */
#define AGE_SOCKETS       32      /* AF_UNIX pairs per round, each holding a queued 1 KiB */
#define AGE_KEEP_OBJ_PCT  40      /* of the small objects, the share kept */
#define AGE_VMS           2       /* VMs made and destroyed per round, --vcpus each */
#define AGE_MAX_PIECES    8192

static uint64_t age_rng;

/* splitmix64: one stream per seed, so a boot's rounds are the same sizes and frees. */
static uint64_t age_next(void)
{
	uint64_t z = (age_rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t age_below(uint64_t n)
{
	return n ? age_next() % n : 0;
}

static uint64_t meminfo_kb(const char *key)
{
	char line[128];
	size_t n = strlen(key);
	uint64_t v = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* A piece of a round: a page-cache file (addr NULL) or an anonymous chunk. */
struct age_piece {
	uint8_t *addr;
	size_t len;
	unsigned int id;
};

static struct {
	const char *dir;
	uint64_t mem_total;               /* bytes */
	uint64_t kept_cache, kept_anon, made;
	unsigned long kept_files, kept_fds, capped;
	struct age_piece cache[AGE_MAX_PIECES], anon[AGE_MAX_PIECES];
	unsigned int nr_cache, nr_anon;
} age;

/* Write a file of len bytes and read it back: the kernel fills its page cache pages. */
static int age_write_file(const char *path, size_t len, uint8_t fill)
{
	static uint8_t buf[65536];
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	size_t done = 0;

	if (fd < 0)
		return fail("age: open"), -1;
	memset(buf, fill, sizeof(buf));
	while (done < len) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);

		if (write(fd, buf, n) != (ssize_t)n)
			return fail("age: write"), close(fd), -1;
		done += n;
	}
	for (done = 0; done < len; done += sizeof(buf))
		if (pread(fd, buf, sizeof(buf), (off_t)done) <= 0 || buf[0] != fill)
			return errno = EIO, fail("age: read back"), close(fd), -1;
	close(fd);
	return 0;
}

/* An anonymous chunk, every page touched (the kernel zeroes each on the fault). */
static int age_touch_anon(struct age_piece *p, size_t len)
{
	uint8_t *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (a == MAP_FAILED)
		return fail("age: mmap"), -1;
	for (size_t off = 0; off < len; off += 4096)
		a[off] = 1;
	p->addr = a;
	p->len = len;
	return 0;
}

/* A pipe or socket pair with data queued in it (a page, an skb): kept open or closed. */
static void age_fd_pair(int ok, int fd[2], const void *data, size_t len)
{
	if (ok)
		return fail("age: pipe or socketpair");
	if (write(fd[1], data, len) < 0)
		fail("age: pipe or socket write");
	if (age_below(100) >= AGE_KEEP_OBJ_PCT)
		close(fd[0]), close(fd[1]);
	else
		age.kept_fds += 2;
}

/* Slab objects: empty files (dentry, inode), pipes and AF_UNIX pairs holding data. */
static void age_small_objects(unsigned int round, unsigned int from, unsigned int to)
{
	static const char page[4096];
	char path[160];
	int fd[2];

	for (unsigned int j = from; j < to; j++) {
		snprintf(path, sizeof(path), "%s/r%u/s%u", age.dir, round, j);
		fd[0] = open(path, O_CREAT | O_WRONLY, 0600);
		if (fd[0] < 0) {
			fail("age: small file");
			continue;
		}
		close(fd[0]);
		if (age_below(100) >= AGE_KEEP_OBJ_PCT)
			unlink(path);
		else
			age.kept_files++;
		if (j % (AGE_SMALL_FILES / AGE_PIPES) == 0)
			age_fd_pair(pipe(fd), fd, page, sizeof(page));
		if (j % (AGE_SMALL_FILES / AGE_SOCKETS) == 0)
			age_fd_pair(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), fd, page, 1024);
	}
}

/* Fisher-Yates over the pieces, from the seed's stream. */
static void age_shuffle(struct age_piece *p, unsigned int n)
{
	for (unsigned int i = n; i > 1; i--) {
		unsigned int j = (unsigned int)age_below(i);
		struct age_piece t = p[i - 1];

		p[i - 1] = p[j];
		p[j] = t;
	}
}

/* Keep pieces in a random order up to keep bytes; free the others. */
static uint64_t age_free_rest(unsigned int round, struct age_piece *p, unsigned int n, uint64_t keep)
{
	uint64_t kept = 0;
	char path[160];

	age_shuffle(p, n);
	for (unsigned int i = 0; i < n; i++) {
		if (kept + p[i].len <= keep) {
			kept += p[i].len;
			continue;
		}
		if (p[i].addr) {
			munmap(p[i].addr, p[i].len);
		} else {
			snprintf(path, sizeof(path), "%s/r%u/c%u", age.dir, round, p[i].id);
			unlink(path);
		}
	}
	return kept;
}

/* A VM made, its vCPUs run to their first exit, destroyed. */
static void age_vm_churn(void)
{
	for (int i = 0; i < AGE_VMS; i++)
		vm_life(now() + 0.05);
}

/*
 * One round: page cache and anonymous memory made interleaved (so the pages
 * freed next lie between pages kept), small objects in step with them, then
 * a random share of each freed, then VMs made and destroyed.
 */
static void age_round(unsigned int round, uint64_t keep)
{
	uint64_t make = keep * AGE_MAKE_X2 / 2, cap = age.mem_total * AGE_ROUND_MAX_PCT / 100;
	uint64_t make_cache, make_anon, done_cache = 0, done_anon = 0, since_check = 0;
	unsigned int small = 0;
	char path[160];

	make = make < cap ? make : cap;
	make_cache = make * 55 / 100;
	make_anon = make - make_cache;
	snprintf(path, sizeof(path), "%s/r%u", age.dir, round);
	if (mkdir(path, 0700))
		fail("age: mkdir");
	age.nr_cache = age.nr_anon = 0;
	while ((done_cache < make_cache || done_anon < make_anon) &&
	       age.nr_cache < AGE_MAX_PIECES && age.nr_anon < AGE_MAX_PIECES) {
		size_t fl = (size_t)(1 + age_below(512)) * 4096;    /* 4 KiB .. 2 MiB */
		size_t al = (size_t)(1 + age_below(64)) * 4096;     /* 4 KiB .. 256 KiB */
		unsigned int small_to;

		if (since_check >= (8u << 20)) {
			since_check = 0;
			if (meminfo_kb("MemAvailable") * 1024 < age.mem_total * AGE_FLOOR_PCT / 100) {
				age.capped++;
				break;
			}
		}
		if (done_cache < make_cache) {
			struct age_piece *p = &age.cache[age.nr_cache];

			snprintf(path, sizeof(path), "%s/r%u/c%u", age.dir, round, age.nr_cache);
			if (!age_write_file(path, fl, (uint8_t)(1 + age_below(255)))) {
				*p = (struct age_piece){ .addr = NULL, .len = fl, .id = age.nr_cache };
				age.nr_cache++;
				done_cache += fl;
				since_check += fl;
			}
		}
		if (done_anon < make_anon && !age_touch_anon(&age.anon[age.nr_anon], al)) {
			age.nr_anon++;
			done_anon += al;
			since_check += al;
		}
		small_to = (unsigned int)((done_cache + done_anon) * AGE_SMALL_FILES / (make ? make : 1));
		small_to = small_to < AGE_SMALL_FILES ? small_to : AGE_SMALL_FILES;
		age_small_objects(round, small, small_to);
		small = small_to > small ? small_to : small;
	}
	age_small_objects(round, small, AGE_SMALL_FILES);
	age.made += done_cache + done_anon;
	age.kept_cache += age_free_rest(round, age.cache, age.nr_cache, keep * 55 / 100);
	age.kept_anon += age_free_rest(round, age.anon, age.nr_anon, keep - keep * 55 / 100);
	age_vm_churn();
}

/*
 * The ager's life: N rounds, one line for the host, AGE_DIR/.ready for
 * watch/init.sh, then hold what was kept until killed (the workload runs on
 * this host meanwhile).
 */
static int age_main(void)
{
	struct rlimit rl;
	char ready[160];
	double t0 = now();
	uint64_t keep;
	int fd;

	age.dir = getenv("SNPSAFE_AGE_DIR") ? getenv("SNPSAFE_AGE_DIR") : AGE_DIR_DEFAULT;
	age.mem_total = meminfo_kb("MemTotal") * 1024;
	if (!age.mem_total) {
		fprintf(stderr, "snpsafe-age: no MemTotal in /proc/meminfo\n");
		return 1;
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	age_rng = cfg.age_seed;
	keep = age.mem_total * AGE_KEEP_PCT / 100 / cfg.age_rounds;
	for (unsigned int r = 0; r < cfg.age_rounds; r++)
		age_round(r, keep);
	printf("snpsafe-age: rounds=%u seed=%llu keep_pct=%u made_mib=%llu kept_cache_kb=%llu "
	       "kept_anon_kb=%llu kept_files=%lu kept_fds=%lu vms=%lu vcpus=%lu capped=%lu "
	       "failures=%lu elapsed=%.2f\n", cfg.age_rounds, (unsigned long long)cfg.age_seed,
	       AGE_KEEP_PCT, (unsigned long long)(age.made >> 20),
	       (unsigned long long)(age.kept_cache >> 10), (unsigned long long)(age.kept_anon >> 10),
	       age.kept_files, age.kept_fds, atomic_load(&vms_created), atomic_load(&vcpus_created),
	       age.capped, atomic_load(&failures), now() - t0);
	fflush(stdout);
	snprintf(ready, sizeof(ready), "%s/.ready", age.dir);
	fd = open(ready, O_CREAT | O_WRONLY, 0600);
	if (fd < 0)
		return fail("age: ready file"), 1;
	close(fd);
	for (;;)
		pause();
}

static int parse(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		char *end;
		double v = strtod(argv[i + 1], &end);

		if (*end || v < 0)
			return -1;
		if (!strcmp(argv[i], "--vms"))
			cfg.vms = (unsigned int)v;
		else if (!strcmp(argv[i], "--vcpus"))
			cfg.vcpus = (unsigned int)v;
		else if (!strcmp(argv[i], "--seconds"))
			cfg.seconds = v;
		else if (!strcmp(argv[i], "--lifetime"))
			cfg.lifetime = v;
		else if (!strcmp(argv[i], "--host-threads"))
			cfg.host_threads = (unsigned int)v;
		else if (!strcmp(argv[i], "--age-rounds") && v <= AGE_MAX_ROUNDS)
			cfg.age_rounds = (unsigned int)v;
		else if (!strcmp(argv[i], "--age-seed"))
			cfg.age_seed = strtoull(argv[i + 1], NULL, 10);
		else
			return -1;
	}
	if (argc % 2 == 0 || !cfg.vms || !cfg.vcpus || cfg.vms > 1024 || cfg.vcpus > 64 ||
	    cfg.host_threads > 16)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t *slots, host[16];
	double t0;

	if (parse(argc, argv)) {
		fprintf(stderr, "usage: snpsafe-workload [--vms N] [--vcpus N] [--seconds S] "
				"[--lifetime S] [--host-threads N] [--age-rounds N --age-seed S]\n");
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_kick };   /* no SA_RESTART: KVM_RUN returns */

	sigaction(SIGUSR1, &sa, NULL);
	cfg.kvm = open("/dev/kvm", O_RDWR);
	if (cfg.kvm < 0 || ioctl(cfg.kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		fprintf(stderr, "snpsafe-workload: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	cfg.mmap_size = ioctl(cfg.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (cfg.age_rounds)
		return age_main();
	t0 = now();
	cfg.deadline = t0 + cfg.seconds;
	slots = calloc(cfg.vms, sizeof(*slots));
	if (!slots)
		return 1;
	for (unsigned int i = 0; i < cfg.host_threads; i++)
		pthread_create(&host[i], NULL, host_thread, (void *)(uintptr_t)i);
	for (unsigned int i = 0; i < cfg.vms; i++)
		pthread_create(&slots[i], NULL, vm_slot, NULL);
	for (unsigned int i = 0; i < cfg.vms; i++)
		pthread_join(slots[i], NULL);
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < cfg.host_threads; i++)
		pthread_join(host[i], NULL);
	printf("snpsafe-workload: vms=%u vcpus=%u seconds=%.1f lifetime=%.2f vms_created=%lu "
	       "vcpus_created=%lu vcpus_ran=%lu vcpus_stuck=%lu exits=%lu host_mib_written=%lu "
	       "failures=%lu elapsed=%.2f\n", cfg.vms, cfg.vcpus, cfg.seconds, cfg.lifetime,
	       atomic_load(&vms_created), atomic_load(&vcpus_created), atomic_load(&vcpus_ran),
	       atomic_load(&vcpus_stuck),
	       atomic_load(&exits), atomic_load(&host_bytes) >> 20, atomic_load(&failures),
	       now() - t0);
	free(slots);
	return atomic_load(&failures) ? 1 : 0;
}
