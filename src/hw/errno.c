// SPDX-License-Identifier: MIT
/* errno.c - names of the library's negative error codes (snpsafe/common.h). */
#include <snpsafe/common.h>

const char *snp_strerror(int err)
{
	switch (err) {
	case SNP_OK:      return "SNP_OK";
	case SNP_EPERM:   return "SNP_EPERM";
	case SNP_ENOENT:  return "SNP_ENOENT";
	case SNP_ENOMEM:  return "SNP_ENOMEM";
	case SNP_EBUSY:   return "SNP_EBUSY";
	case SNP_EEXIST:  return "SNP_EEXIST";
	case SNP_EINVAL:  return "SNP_EINVAL";
	case SNP_ERANGE:  return "SNP_ERANGE";
	case SNP_ENOTSUP: return "SNP_ENOTSUP";
	case SNP_EFAULT:  return "SNP_EFAULT";
	case SNP_ENOSPC:  return "SNP_ENOSPC";
	default:          return "SNP_E?";
	}
}
