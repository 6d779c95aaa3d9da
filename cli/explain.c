/*
 * explain.c: what dkimkit explain adds to the output of verify: per
 * failing signature the class of the breakage, the field concerned and a
 * sentence a postmaster can act on.
 */
#include <stdio.h>

#include "cli.h"

/* What to do about each class: who usually causes it and the remedy. */
static const char *
explain_advice(enum dkk_class c)
{
	switch (c) {
	case DKK_C_BODY_APPENDED:
		return "typical of a mailing list or a relay adding a "
		    "footer; an ARC seal at the list lets receivers that "
		    "trust it see the original pass; l= is not advised "
		    "(anyone may then append anything)";
	case DKK_C_BODY_CHANGED:
		return "a content filter, a re-encoding (e.g. to base64 or "
		    "quoted-printable) or a transport splitting long lines "
		    "changed the body; find the hop after the signer";
	case DKK_C_SUBJECT_TAGGED:
		return "a mailing list tags subjects; the list should seal "
		    "with ARC or sign again, or stop tagging";
	case DKK_C_HEADER_ADDED:
		return "a hop added a field the signature covers; harmless "
		    "if the hop is trusted, a forgery attempt if it is not "
		    "(oversigning is doing its job)";
	case DKK_C_HEADER_CHANGED:
		return "a hop after the signer rewrote this field; relaxed "
		    "header canonicalization survives refolding and "
		    "whitespace, nothing survives a new value";
	case DKK_C_HEADER_UNKNOWN:
		return "a signed field changed in a way no common rewrite "
		    "explains; a signer adding z= would let the field be named";
	case DKK_C_KEY:
		return "the signer's DNS key record is missing or unusable; "
		    "the signing domain must publish or fix it";
	case DKK_C_DNS:
		return "the key could not be fetched now; try again later or "
		    "check the resolver";
	case DKK_C_TIME:
		return "check the signer's clock and x= lifetime, or this "
		    "host's clock";
	case DKK_C_ALGORITHM:
		return "the signer uses rsa-sha1 or an RSA key under 1024 "
		    "bits (RFC 8301); it should move to rsa-sha256 with "
		    "2048 bits or ed25519";
	case DKK_C_SYNTAX:
		return "the signer wrote a malformed DKIM-Signature field";
	case DKK_C_LIMIT:
		return "the message is over a limit of this verifier and was "
		    "not evaluated";
	case DKK_C_INTERNAL:
		return "this verifier ran out of memory; try again";
	default:
		return "";
	}
}

void
explain_json(const dkk_verifier *v, size_t i)
{
	const char *field, *detail;
	enum dkk_class c = dkk_verifier_explain(v, i, &field, &detail);

	printf(",\"class\":\"%s\",\"field\":", dkk_class_name(c));
	json_string(stdout, field);
	fputs(",\"detail\":", stdout);
	json_string(stdout, detail);
	fputs(",\"advice\":", stdout);
	json_string(stdout, explain_advice(c));
}

void
explain_plain(const dkk_verifier *v, size_t i)
{
	const char *field, *detail;
	enum dkk_class c = dkk_verifier_explain(v, i, &field, &detail);

	if (c == DKK_C_NONE)
		return;
	printf("    class %s%s%s: %s\n    %s\n", dkk_class_name(c),
	    field != NULL ? ", field " : "", field != NULL ? field : "",
	    detail, explain_advice(c));
}
