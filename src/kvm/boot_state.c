// SPDX-License-Identifier: MIT
/*
 * boot_state.c - what the kernels `snpsafe watch` boots leave in their
 * allocator before anything runs, for hosts with the qemu-pc RAM map
 * (docs/MODEL.md "Boot state"; flat hosts have none of it):
 *
 *  - setup_arch() -> early_reserve_memory() memblock_reserve()s the kernel
 *    image, _text to __end_of_kernel_reserve, where it was loaded: watch
 *    boots with nokaslr, so at CONFIG_PHYSICAL_START (16 MiB);
 *  - QEMU loads the initrd just below the top of RAM less its ACPI tables
 *    (SeaBIOS's top 128 KiB), page-aligned down, and early_reserve_initrd()
 *    reserves it (watch's 6.12 boots print "RAMDISK: [mem
 *    0x3fd83000-0x3ffdffff]" at 1 GiB);
 *  - deferred struct-page init types the pageblocks (mm_config.deferred_init);
 *  - do_populate_rootfs() frees the initrd after unpacking it
 *    (free_initrd_mem() -> free_init_pages() -> free_reserved_area()):
 *    ascending order-0 frees on the CPU of the async worker.
 *
 * Our own code; the facts are the kernel's and QEMU's.
 */
#include "kvm/kvm_internal.h"

void kvm_boot_default_sizes(enum mm_kernel k, uint64_t *image_bytes, uint64_t *initrd_bytes)
{
	*image_bytes = k == MM_KERNEL_6_1 ? KVM_BOOT_IMAGE_BYTES_61 : KVM_BOOT_IMAGE_BYTES_612;
	*initrd_bytes = k == MM_KERNEL_6_1 ? KVM_BOOT_INITRD_BYTES_61 : KVM_BOOT_INITRD_BYTES_612;
}

uint64_t kvm_boot_min_mem(uint64_t image_bytes, uint64_t initrd_bytes)
{
	return KVM_BOOT_IMAGE_START + image_bytes + initrd_bytes + SNP_RAM_QEMU_PC_TOP_RESERVED + SNP_PAGE_SIZE;
}

static uint64_t boot_image_bytes(const struct kvm_host_config *c)
{
	uint64_t image, initrd;

	kvm_boot_default_sizes(c->kernel, &image, &initrd);
	return c->boot_image_bytes ? c->boot_image_bytes : image;
}

static uint64_t boot_initrd_bytes(const struct kvm_host_config *c)
{
	uint64_t image, initrd;

	kvm_boot_default_sizes(c->kernel, &image, &initrd);
	return c->boot_initrd_bytes ? c->boot_initrd_bytes : initrd;
}

/*
 * QEMU's x86 Linux loader: initrd_max is the last byte of RAM below 4 GiB
 * less the ACPI data (the RAM map's top reservation), and the initrd starts
 * at (initrd_max - size) rounded down to a page; Linux reserves it up to its
 * end rounded up to a page (reserve_initrd(): PAGE_ALIGN(ramdisk_end)).
 */
static void initrd_range(const struct kvm_host_config *c, uint64_t mem, snp_pfn_t *start, snp_pfn_t *end)
{
	uint64_t top = mem - SNP_RAM_QEMU_PC_TOP_RESERVED, size = boot_initrd_bytes(c);
	uint64_t at = ((top - 1 - size) & ~(uint64_t)(SNP_PAGE_SIZE - 1));

	*start = at >> SNP_PAGE_SHIFT;
	*end = (at + size + SNP_PAGE_SIZE - 1) >> SNP_PAGE_SHIFT;
}

/* Do the image and the initrd fit below RAM's top? */
static bool boot_state_fits(const struct kvm_host_config *c, uint64_t mem)
{
	return kvm_boot_min_mem(boot_image_bytes(c), boot_initrd_bytes(c)) < mem;
}

int kvm_boot_reservations(const struct kvm_host *host, uint64_t mem, struct mm_reserved_range *res,
			  size_t *nr)
{
	const struct kvm_host_config *c = &host->cfg;
	snp_pfn_t s, e;

	*nr = 0;
	if (c->ram_layout != SNP_RAM_QEMU_PC)
		return 0;
	if (!boot_state_fits(c, mem))
		return SNP_EINVAL;
	res[(*nr)++] = (struct mm_reserved_range){ KVM_BOOT_IMAGE_START >> SNP_PAGE_SHIFT,
						    boot_image_bytes(c) >> SNP_PAGE_SHIFT };
	initrd_range(c, mem, &s, &e);
	res[(*nr)++] = (struct mm_reserved_range){ s, e - s };
	return 0;
}

int kvm_host_initrd_pfns(const struct kvm_host *host, snp_pfn_t *start, snp_pfn_t *end)
{
	if (!host || !start || !end)
		return SNP_EINVAL;
	if (host->cfg.ram_layout != SNP_RAM_QEMU_PC)
		return SNP_ENOENT;
	initrd_range(&host->cfg, snp_machine_mem_bytes(host->machine), start, end);
	return 0;
}

int kvm_boot_free_initrd(struct kvm_host *host)
{
	snp_pfn_t s, e;

	if (kvm_host_initrd_pfns(host, &s, &e))
		return 0;   /* no initrd: nothing to free */
	return mm_free_reserved_area(host->mm, host->cfg.initrd_free_cpu, s, e - s);
}
