// SPDX-License-Identifier: MIT
/*
 * e820.c - the host's firmware memory map: the usable RAM ranges the
 * direct map is built from (directmap.c) and that the allocator may hand
 * out (the rest is reserved, as memblock never frees what is not RAM).
 *
 * qemu-pc is the map the kernels `snpsafe watch` boots see (docs/WATCH.md):
 * QEMU's pc machine (hw/i386/pc_piix.c) puts a guest below 3.5 GiB wholly
 * below 4 GiB; SeaBIOS then reports 0-0x9fbff usable, 0x9fc00-0x9ffff
 * (its EBDA) and 0xf0000-0xfffff reserved, 1 MiB up to the top of RAM less
 * its high tables usable, and those tables reserved.  SeaBIOS
 * (src/malloc.c malloc_preinit()) reserves BUILD_MAX_HIGHTABLE at the top
 * and malloc_prepboot() gives back what it did not use; the map QEMU guests
 * print for 1 GiB ends usable RAM at 0x3ffdffff, 128 KiB below the top.
 * Linux takes RAM whole pages only (memblock: PFN_DOWN of an end), so the
 * low range ends at 0x9f000.  Our own code.
 */
#include "machine.h"

#include <string.h>

/* SeaBIOS's usable low memory ends at its EBDA, 0x9fc00; memblock keeps whole pages. */
#define QEMU_PC_LOW_END  0x9f000ULL
/* ISA_END_ADDRESS: RAM resumes at 1 MiB. */
#define QEMU_PC_HIGH_START 0x100000ULL

static const char *const layout_names[SNP_RAM_NR_LAYOUTS] = {
	[SNP_RAM_FLAT] = "flat",
	[SNP_RAM_QEMU_PC] = "qemu-pc",
};

const char *snp_ram_layout_name(enum snp_ram_layout l)
{
	return (unsigned int)l < SNP_RAM_NR_LAYOUTS ? layout_names[l] : "?";
}

int snp_ram_layout_parse(const char *s, enum snp_ram_layout *out)
{
	if (!s || !out)
		return SNP_EINVAL;
	for (unsigned int i = 0; i < SNP_RAM_NR_LAYOUTS; i++) {
		if (!strcmp(s, layout_names[i])) {
			*out = (enum snp_ram_layout)i;
			return 0;
		}
	}
	return SNP_EINVAL;
}

static void ram_add(struct snp_ram_map *map, snp_spa_t start, snp_spa_t end)
{
	map->r[map->nr++] = (struct snp_ram_range){ start, end };
}

int snp_ram_map_build(enum snp_ram_layout l, uint64_t mem_bytes, struct snp_ram_map *out)
{
	if (!out || !snp_is_aligned(mem_bytes, SNP_PAGE_SIZE) || !mem_bytes)
		return SNP_EINVAL;
	memset(out, 0, sizeof(*out));
	switch (l) {
	case SNP_RAM_FLAT:
		ram_add(out, 0, mem_bytes);
		return 0;
	case SNP_RAM_QEMU_PC:
		if (mem_bytes > SNP_RAM_QEMU_PC_MAX || mem_bytes < 2 * SNP_MiB)
			return SNP_EINVAL;
		ram_add(out, 0, QEMU_PC_LOW_END);
		ram_add(out, QEMU_PC_HIGH_START, mem_bytes - SNP_RAM_QEMU_PC_TOP_RESERVED);
		return 0;
	case SNP_RAM_NR_LAYOUTS:
		break;
	}
	return SNP_EINVAL;
}

bool snp_ram_map_covers(const struct snp_ram_map *map, snp_spa_t start, snp_spa_t end)
{
	for (unsigned int i = 0; map && i < map->nr; i++)
		if (start >= map->r[i].start && end <= map->r[i].end)
			return true;
	return false;
}
