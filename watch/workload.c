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
				"[--lifetime S] [--host-threads N]\n");
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
