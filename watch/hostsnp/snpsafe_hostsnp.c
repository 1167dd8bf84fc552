// SPDX-License-Identifier: GPL-2.0
/*
 * snpsafe_hostsnp.c - make an unmodified kvm_amd believe the host has SNP,
 * so that its own snp_safe_alloc_page_node() (arch/x86/kvm/svm/sev.c, v6.11+)
 * takes the order-1 path under `snpsafe watch --kernel 6.12 --host-snp`.
 *
 * kvm_amd decides with cc_platform_has(CC_ATTR_HOST_SEV_SNP)
 * (arch/x86/coco/core.c), which reads cc_flags.host_sev_snp for the AMD
 * vendor; bsp_determine_snp() (arch/x86/kernel/cpu/amd.c) never sets it under
 * QEMU TCG because no RMP is set up.  cc_platform_set() writes that flag but is
 * not exported, so /init passes its address from /proc/kallsyms; the module
 * checks that the address really is cc_platform_set before calling it, and
 * that the attribute reads back set.  Load it before kvm_amd.
 *
 * What else reads the attribute after boot, and why the watch workload does
 * not reach it, is in docs/WATCH.md.
 */
#include <linux/cc_platform.h>
#include <linux/kallsyms.h>
#include <linux/module.h>
#include <linux/string.h>

static unsigned long cc_platform_set_addr;
module_param(cc_platform_set_addr, ulong, 0444);
MODULE_PARM_DESC(cc_platform_set_addr, "address of cc_platform_set from /proc/kallsyms");

static int __init snpsafe_hostsnp_init(void)
{
	void (*set)(enum cc_attr attr);
	char name[KSYM_SYMBOL_LEN];

	if (!cc_platform_set_addr) {
		pr_err("snpsafe-hostsnp: cc_platform_set_addr= is required\n");
		return -EINVAL;
	}
	sprint_symbol(name, cc_platform_set_addr);
	if (strncmp(name, "cc_platform_set+0x0/", strlen("cc_platform_set+0x0/"))) {
		pr_err("snpsafe-hostsnp: 0x%lx is %s, not cc_platform_set\n", cc_platform_set_addr, name);
		return -EINVAL;
	}
	if (cc_platform_has(CC_ATTR_HOST_SEV_SNP)) {
		pr_info("snpsafe-hostsnp: CC_ATTR_HOST_SEV_SNP was already set\n");
		return 0;
	}
	set = (void (*)(enum cc_attr))cc_platform_set_addr;
	set(CC_ATTR_HOST_SEV_SNP);
	if (!cc_platform_has(CC_ATTR_HOST_SEV_SNP)) {
		pr_err("snpsafe-hostsnp: CC_ATTR_HOST_SEV_SNP did not read back set (not an AMD-vendor CPU?)\n");
		return -ENODEV;
	}
	pr_info("snpsafe-hostsnp: CC_ATTR_HOST_SEV_SNP set (attribute %d)\n", CC_ATTR_HOST_SEV_SNP);
	return 0;
}

static void __exit snpsafe_hostsnp_exit(void)
{
}

module_init(snpsafe_hostsnp_init);
module_exit(snpsafe_hostsnp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("snpsafe watch: make kvm_amd take its SNP-safe allocation path under QEMU TCG");
