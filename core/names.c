/*
 * names.c: the words for codes.
 */
#include "internal.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *
pick(const char *const *names, size_t n, int i)
{
	return i >= 0 && (size_t)i < n ? names[i] : NULL;
}

const char *
dkk_strerror(int err)
{
	static const char *const msg[] = {
		"success",
		"out of memory",
		"invalid argument",
		"input/output error",
		"syntax error",
		"unusable key",
		"limit exceeded",
		"call out of order",
		"waiting for DNS",
		"resolver unavailable",
		"cryptographic failure",
		"not supported",
		"no signing domain covers the author",
	};
	const char *s = pick(msg, NELEM(msg), -err);

	return s != NULL ? s : "unknown error";
}

const char *
dkk_verdict_name(enum dkk_verdict verdict)
{
	static const char *const names[] = {
		"none", "pass", "fail", "neutral", "policy", "permerror",
		"temperror",
	};

	return pick(names, NELEM(names), (int)verdict);
}

const char *
dkk_reason_name(enum dkk_reason reason)
{
	static const char *const names[] = {
		"ok", "syntax", "duplicate_tag", "version", "missing_tag",
		"bad_tag", "algorithm", "canonicalization", "query_method",
		"from_not_signed", "identity_mismatch", "timestamps",
		"future", "expired", "body_length", "weak_hash", "key_size",
		"too_many_signatures", "key_nxdomain", "key_dns", "key_bogus",
		"key_syntax", "key_revoked", "key_type", "key_hash",
		"key_service", "key_strict", "key_data", "body_hash_mismatch",
		"signature_mismatch", "internal", "limit",
	};

	return pick(names, NELEM(names), (int)reason);
}

const char *
dkk_dnssec_name(enum dkk_dnssec state)
{
	static const char *const names[] = {
		"unknown", "secure", "insecure", "bogus",
	};

	return pick(names, NELEM(names), (int)state);
}

const char *
dkk_adsp_name(enum dkk_adsp result)
{
	static const char *const names[] = {
		"none", "pass", "unknown", "fail", "discard", "nxdomain",
		"temperror", "permerror",
	};

	return pick(names, NELEM(names), (int)result);
}

const char *
dkk_spf_result_name(enum dkk_spf_result result)
{
	static const char *const names[] = {
		"none", "neutral", "pass", "fail", "softfail", "temperror",
		"permerror",
	};

	return pick(names, NELEM(names), (int)result);
}

const char *
dkk_spf_scope_name(enum dkk_spf_scope scope)
{
	static const char *const names[] = { "mailfrom", "helo" };

	return pick(names, NELEM(names), (int)scope);
}

const char *
dkk_dmarc_result_name(enum dkk_dmarc r)
{
	static const char *const names[] = {
		"none", "pass", "fail", "temperror", "permerror",
	};

	return pick(names, NELEM(names), (int)r);
}

const char *
dkk_dmarc_policy_name(enum dkk_dmarc_policy p)
{
	static const char *const names[] = {
		"none", "quarantine", "reject",
	};

	return pick(names, NELEM(names), (int)p);
}
