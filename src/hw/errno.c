// SPDX-License-Identifier: MIT
/*
 * errno.c - the library's negative error codes (snpsafe/common.h): their
 * names, for logs and tests, and their meaning in plain words, for users.
 */
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

const char *snp_error_text(int err)
{
	switch (err) {
	case SNP_ENOMEM:  return "a modeled host ran out of memory";
	case SNP_EBUSY:   return "a modeled resource was all in use (ASIDs, or a page held elsewhere)";
	case SNP_EINVAL:  return "the model refused the configuration as invalid";
	case SNP_ERANGE:  return "a value is outside what the model supports";
	case SNP_ENOSPC:  return "a modeled table is full";
	case SNP_ENOENT:  return "the model found no such object";
	case SNP_EEXIST:  return "the model found the object already present";
	case SNP_EPERM:   return "the modeled hardware refused the operation";
	case SNP_ENOTSUP: return "the model does not support that combination";
	case SNP_EFAULT:  return "a modeled access faulted";
	default:          return "the model failed";
	}
}
