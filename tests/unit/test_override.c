/*
 * test_override.c: the local policy override of a DMARC or ADSP failure
 * by a trusted ARC sealer (dkk_verify_opts.trusted_sealers, RFC 8617
 * 7.2): a message signed by example.com (p=reject, dkim=all) that a list
 * sealed after verifying, then tagged its Subject (which breaks DKIM but
 * not the list's ARC-Message-Signature, whose h= leaves Subject out).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "verify_fx.h"

static const char ozone[] =
    "_dmarc.example.com. TXT \"v=DMARC1; p=reject\"\n"
    "_adsp._domainkey.example.com. TXT \"dkim=all\"\n"
    "rsa._domainkey.lists.example.org. TXT \"v=DKIM1; p=$RSA\"\n"
    "rsa._domainkey.other.example. TXT \"v=DKIM1; p=$RSA\"\n";

static const char *const trust_lists[] = { "LISTS.example.org", NULL };

/* msg signed by example.com. */
static char *
signed_msg(struct unit_fx *fx)
{
	struct dkk_sign_opts so = { .key = fx->rsa, .domain = "example.com",
	    .selector = "rsa" };
	char *f = sign_field(fx, &so, msg, strlen(msg)), *top, *m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	top = concat(f, "\r\n");
	m = concat(top, msg);
	free(top);
	free(f);
	return m;
}

/* m with the next ARC set by sealer, verified with DMARC and ADSP on
 * so that its AAR records them.  Takes m. */
static char *
seal_by(struct unit_fx *fx, char *m, const char *sealer)
{
	struct dkk_verify_opts vo = { .adsp = 1, .dmarc = 1, .arc = 1 };
	struct dkk_seal_opts so = { fx->rsa, sealer, "rsa", "mx.lists.test",
	    "From:To:Date:Message-ID:DKIM-Signature", NULL };
	dkk_verifier *v = unit_verify_opts(fx->ctx, &vo, m, strlen(m), 0);
	char *fields = NULL, *top, *out;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_seal(v, &so, 0, &fields), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fields);
	top = concat(fields, "\r\n");
	out = concat(top, m);
	free(top);
	free(fields);
	free(m);
	dkk_verifier_free(v);
	return out;
}

/* The list's change: a Subject tag (DKIM fails, the AMS does not). */
static char *
tag_subject(char *m)
{
	char *out = replace(m, "Subject: Is", "Subject: [list] Is");

	free(m);
	return out;
}

static dkk_verifier *
check(struct unit_fx *fx, const char *m, const char *const *trusted,
    struct dkk_dmarc_result *d, struct dkk_override *ao)
{
	struct dkk_verify_opts vo = { .adsp = 1, .dmarc = 1, .arc = 1,
	    .trusted_sealers = trusted };
	dkk_verifier *v = unit_verify_opts(fx->ctx, &vo, m, strlen(m), 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_dmarc(v, d), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_adsp_override(v, ao), DKK_OK);
	/* the results never change */
	CU_ASSERT_EQUAL(dkk_verifier_verdict(v), DKK_FAIL);
	CU_ASSERT_EQUAL(d->result, DKK_DMARC_FAIL);
	CU_ASSERT_EQUAL(d->policy, DKK_DMARC_REJECT);
	CU_ASSERT_EQUAL(dkk_verifier_adsp(v, NULL), DKK_ADSP_FAIL);
	return v;
}

static void
expect_unchanged(struct unit_fx *fx, const char *m,
    const char *const *trusted)
{
	struct dkk_dmarc_result d;
	struct dkk_override ao;
	dkk_verifier *v = check(fx, m, trusted, &d, &ao);
	char *ar = NULL;

	CU_ASSERT_EQUAL(d.disposition, DKK_DMARC_REJECT);
	CU_ASSERT_EQUAL(d.overridden, 0);
	CU_ASSERT_PTR_NULL(d.override_sealer);
	CU_ASSERT_EQUAL(ao.overridden, 0);
	CU_ASSERT_EQUAL(dkk_verifier_ar(v, "mx.test", DKK_FIELD_ONE_LINE,
	    &ar), DKK_OK);
	CU_ASSERT_PTR_NULL(strstr(ar, "local_policy"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ar, "policy.dmarc=reject"));
	free(ar);
	dkk_verifier_free(v);
}

static void
override_trusted_pass(void)
{
	struct unit_fx fx;
	struct dkk_dmarc_result d;
	struct dkk_override ao;
	struct dkk_arc_result r;
	dkk_verifier *v;
	char *m, *ar = NULL;
	dkk_ar *parsed;
	size_t i;
	int found = 0;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ozone), 0);
	m = tag_subject(seal_by(&fx, signed_msg(&fx), "lists.example.org"));
	v = check(&fx, m, trust_lists, &d, &ao);
	CU_ASSERT_EQUAL(dkk_verifier_arc(v, &r), DKK_OK);
	CU_ASSERT_EQUAL(r.result, DKK_ARC_PASS);
	CU_ASSERT_EQUAL(d.disposition, DKK_DMARC_POLICY_NONE);
	CU_ASSERT_EQUAL(d.overridden, 1);
	CU_ASSERT_STRING_EQUAL(d.override_sealer, "lists.example.org");
	CU_ASSERT_EQUAL(d.override_instance, 1);
	CU_ASSERT_STRING_EQUAL(d.override_reason, "local_policy");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d.override_comment);
	CU_ASSERT_STRING_EQUAL(d.override_comment,
	    "arc=pass as[1].d=lists.example.org as[1].s=rsa");
	CU_ASSERT_EQUAL(ao.overridden, 1);
	CU_ASSERT_STRING_EQUAL(ao.sealer, "lists.example.org");
	CU_ASSERT_EQUAL(ao.instance, 1);
	/* the A-R entry, read back: dmarc=fail with the override reason
	 * and the disposition none */
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.test",
	    DKK_FIELD_VALUE_ONLY, &ar), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ar_parse(ar, strlen(ar), &parsed), DKK_OK);
	CU_ASSERT(parsed->complete);
	for (i = 0; i < parsed->nresults; i++) {
		const struct dkk_ar_result *e = &parsed->results[i];

		if (strcmp(e->method, "dmarc") != 0 &&
		    strcmp(e->method, "dkim-adsp") != 0)
			continue;
		found++;
		CU_ASSERT_STRING_EQUAL(e->result, "fail");
		CU_ASSERT_PTR_NOT_NULL_FATAL(e->reason);
		CU_ASSERT_EQUAL(strncmp(e->reason, "local_policy: ", 14), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(e->reason,
		    "lists.example.org of instance 1"));
	}
	CU_ASSERT_EQUAL(found, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(ar, "policy.dmarc=none"));
	dkk_ar_free(parsed);
	free(ar);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

static void
override_untrusted_sealer(void)
{
	struct unit_fx fx;
	static const char *const other[] = { "example.org", NULL };
	char *m;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ozone), 0);
	m = tag_subject(seal_by(&fx, signed_msg(&fx), "other.example"));
	expect_unchanged(&fx, m, trust_lists);
	free(m);
	/* a parent of the sealer is not the sealer */
	m = tag_subject(seal_by(&fx, signed_msg(&fx), "lists.example.org"));
	expect_unchanged(&fx, m, other);
	/* no list, no override */
	expect_unchanged(&fx, m, NULL);
	free(m);
	unit_fx_free(&fx);
}

static void
override_chain_fails(void)
{
	struct unit_fx fx;
	char *m, *f;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ozone), 0);
	/* a footer after the seal breaks the AMS: the chain fails */
	m = tag_subject(seal_by(&fx, signed_msg(&fx), "lists.example.org"));
	f = concat(m, "-- \r\nlist footer\r\n");
	expect_unchanged(&fx, f, trust_lists);
	free(f);
	free(m);
	unit_fx_free(&fx);
}

static void
override_lower_instance_fail(void)
{
	struct unit_fx fx;
	struct dkk_dmarc_result d;
	struct dkk_override ao;
	struct dkk_arc_result r;
	dkk_verifier *v;
	char *m;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ozone), 0);
	/* the trusted list sealed instance 1 after the change, so its AAR
	 * says dmarc=fail; an untrusted hop's pass at instance 2 counts
	 * for nothing */
	m = seal_by(&fx, tag_subject(signed_msg(&fx)), "lists.example.org");
	m = seal_by(&fx, m, "other.example");
	v = check(&fx, m, trust_lists, &d, &ao);
	CU_ASSERT_EQUAL(dkk_verifier_arc(v, &r), DKK_OK);
	CU_ASSERT_EQUAL(r.result, DKK_ARC_PASS);
	CU_ASSERT_EQUAL(r.instances, 2);
	CU_ASSERT_EQUAL(d.disposition, DKK_DMARC_REJECT);
	CU_ASSERT_EQUAL(d.overridden, 0);
	CU_ASSERT_EQUAL(ao.overridden, 0);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

static void
override_higher_instance(void)
{
	struct unit_fx fx;
	static const char *const both[] = { "other.example",
	    "lists.example.org", NULL };
	struct dkk_dmarc_result d;
	struct dkk_override ao;
	dkk_verifier *v;
	char *m;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ozone), 0);
	/* the list vouched at instance 1; a trusted later hop that only
	 * saw the changed message did not: the list's word counts */
	m = tag_subject(seal_by(&fx, signed_msg(&fx), "lists.example.org"));
	m = seal_by(&fx, m, "other.example");
	v = check(&fx, m, both, &d, &ao);
	CU_ASSERT_EQUAL(d.overridden, 1);
	CU_ASSERT_EQUAL(d.override_instance, 1);
	CU_ASSERT_STRING_EQUAL(d.override_sealer, "lists.example.org");
	CU_ASSERT_PTR_NOT_NULL(d.override_comment != NULL &&
	    strstr(d.override_comment, "as[2].d=other.example") ?
	    d.override_comment : NULL);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

/* The opts copy the list: the caller's array may go once the verifier
 * is made. */
static void
override_list_copied(void)
{
	struct unit_fx fx;
	struct dkk_verify_opts vo = { .dmarc = 1, .arc = 1 };
	struct dkk_dmarc_result d;
	const char **list = calloc(2, sizeof(*list));
	char *name = strdup("lists.example.org"), *m;
	dkk_verifier *v;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ozone), 0);
	m = tag_subject(seal_by(&fx, signed_msg(&fx), "lists.example.org"));
	list[0] = name;
	vo.trusted_sealers = list;
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(fx.ctx, &vo, &v), DKK_OK);
	memset(name, 'x', strlen(name));
	free(name);
	free(list);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_wait(v), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_dmarc(v, &d), DKK_OK);
	CU_ASSERT_EQUAL(d.overridden, 1);
	CU_ASSERT_EQUAL(d.disposition, DKK_DMARC_POLICY_NONE);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

/* The first field of m (with its continuation lines, without the final
 * CRLF) and where the next begins. */
static char *
first_field(const char *m, const char **next)
{
	const char *end = strstr(m, "\r\n");

	while (end != NULL && (end[2] == ' ' || end[2] == '\t'))
		end = strstr(end + 2, "\r\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(end);
	*next = end + 2;
	return strndup(m, (size_t)(end - m));
}

static void
hash_relaxed(struct hash *h, const char *field, bool crlf)
{
	struct buf b;

	buf_init(&b);
	CU_ASSERT_EQUAL_FATAL(canon_header(&b, DKK_CANON_RELAXED, field,
	    strlen(field), crlf), DKK_OK);
	hash_update(h, b.p, b.len);
	buf_clear(&b);
}

/* m, sealed once by lists.example.org (AS, AMS, AAR on top), with its
 * AAR replaced by aar and sealed again over it (RFC 8617 5.1.1): what a
 * sealer that writes such an AAR would send.  Free with free(). */
static char *
reseal_aar(struct unit_fx *fx, const char *m, const char *aar)
{
	const char *rest, *p;
	char *as, *ams, *old, *seal, *b64, *out;
	struct hash h;
	struct buf b;
	uint8_t digest[HASH_MAX], *sig;
	size_t siglen;

	as = first_field(m, &p);
	ams = first_field(p, &p);
	old = first_field(p, &rest);
	CU_ASSERT_EQUAL_FATAL(strncmp(old, "ARC-Authentication-Results:",
	    27), 0);
	seal = strdup("ARC-Seal: i=1; a=rsa-sha256; t=1700000000; cv=none; "
	    "d=lists.example.org; s=rsa; b=");
	hash_init(&h, HASH_SHA256);
	hash_relaxed(&h, aar, true);
	hash_relaxed(&h, ams, true);
	hash_relaxed(&h, seal, false);
	hash_digest(&h, digest);
	CU_ASSERT_EQUAL_FATAL(privkey_sign(fx->rsa, digest, &sig, &siglen),
	    DKK_OK);
	b64 = b64_encode(sig, siglen);
	buf_init(&b);
	buf_printf(&b, "%s%s\r\n%s\r\n%s\r\n%s", seal, b64, ams, aar, rest);
	out = buf_take(&b);
	free(sig);
	free(b64);
	free(seal);
	free(as);
	free(ams);
	free(old);
	return out;
}

/* expect: 'd' DMARC overridden only, 'a' ADSP only, 'b' both, '-'
 * neither. */
static void
crafted(struct unit_fx *fx, const char *m, const char *aar, char expect)
{
	struct dkk_dmarc_result d;
	struct dkk_override ao;
	struct dkk_arc_result r;
	char *x = reseal_aar(fx, m, aar);
	dkk_verifier *v = check(fx, x, trust_lists, &d, &ao);

	CU_ASSERT_EQUAL(dkk_verifier_arc(v, &r), DKK_OK);
	CU_ASSERT_EQUAL(r.result, DKK_ARC_PASS);
	if (d.overridden != (expect == 'd' || expect == 'b') ||
	    ao.overridden != (expect == 'a' || expect == 'b')) {
		fprintf(stderr, "AAR %s: dmarc %d adsp %d, want %c\n", aar,
		    d.overridden, ao.overridden, expect);
		CU_FAIL("override");
	}
	CU_ASSERT_EQUAL(d.disposition, d.overridden ? DKK_DMARC_POLICY_NONE :
	    DKK_DMARC_REJECT);
	dkk_verifier_free(v);
	free(x);
}

#define AAR "ARC-Authentication-Results: i=1; lists.example.org; "

/* What an AAR must say, read with dkk_ar_parse(): a pass for this
 * Author Domain; an AAR that does not parse to its end says nothing. */
static void
override_aar_contents(void)
{
	struct unit_fx fx;
	char *m;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ozone), 0);
	m = tag_subject(seal_by(&fx, signed_msg(&fx), "lists.example.org"));
	/* the crafted seal itself is sound */
	crafted(&fx, m, AAR "dkim=pass header.d=example.com", 'b');
	crafted(&fx, m, AAR "dmarc=pass header.from=example.com", 'd');
	/* DMARC takes dmarc=pass or dkim=pass, ADSP its own word too */
	crafted(&fx, m, AAR "dkim-adsp=pass header.from=Example.COM", 'a');
	/* adkim=r: within the policy domain aligns for DMARC; ADSP wants
	 * the Author Domain itself (RFC 5617 2.7) */
	crafted(&fx, m, AAR "dkim=pass header.d=mail.example.com", 'd');
	crafted(&fx, m, AAR "dkim=pass header.d=example.com.evil", '-');
	crafted(&fx, m, AAR "dmarc=pass header.from=joe@example.com", 'd');
	crafted(&fx, m, AAR "dmarc=pass header.from=other.example", '-');
	crafted(&fx, m, AAR "dmarc=pass header.from=example.com@other.example",
	    '-');
	crafted(&fx, m, AAR "dmarc=pass", '-');
	crafted(&fx, m, AAR "dmarc=fail header.from=example.com; "
	    "dkim=fail header.d=example.com", '-');
	crafted(&fx, m, AAR "dmarc=pass header.from=example.com; "
	    "dkim=pass header.d=example.com; x=\"unterminated", '-');
	crafted(&fx, m, AAR "dkim=pass header.d=example.com; ;;", '-');
	crafted(&fx, m, "ARC-Authentication-Results: i=1; ", '-');
	free(m);
	unit_fx_free(&fx);
}

/* ---- dkk_verify_opts.arc_forwarded: a reject of mail whose chain
 * passes becomes quarantine, when no trusted sealer gave none. ---- */

static dkk_verifier *
fwd_verify(struct unit_fx *fx, const char *m, const char *const *trusted,
    int rfc7489, struct dkk_dmarc_result *d)
{
	struct dkk_verify_opts vo = { .adsp = 1, .dmarc = 1, .arc = 1,
	    .rfc7489 = rfc7489, .trusted_sealers = trusted,
	    .arc_forwarded = 1 };
	dkk_verifier *v = unit_verify_opts(fx->ctx, &vo, m, strlen(m), 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_dmarc(v, d), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_verdict(v), DKK_FAIL);
	CU_ASSERT_EQUAL(d->result, DKK_DMARC_FAIL);
	return v;
}

/* The dmarc= entry of v's A-R field, parsed: its reason (copied) and
 * policy.dmarc in *disp (copied). */
static char *
fwd_ar_reason(const dkk_verifier *v, char **disp)
{
	char *ar = NULL, *why = NULL;
	dkk_ar *parsed;
	size_t i, k;

	*disp = NULL;
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.test",
	    DKK_FIELD_VALUE_ONLY, &ar), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ar_parse(ar, strlen(ar), &parsed), DKK_OK);
	CU_ASSERT(parsed->complete);
	for (i = 0; i < parsed->nresults; i++) {
		const struct dkk_ar_result *e = &parsed->results[i];

		if (strcmp(e->method, "dmarc") != 0)
			continue;
		CU_ASSERT_STRING_EQUAL(e->result, "fail");
		if (e->reason != NULL)
			why = strdup(e->reason);
		for (k = 0; k < e->nprops; k++)
			if (strcmp(e->props[k].ptype, "policy") == 0 &&
			    strcmp(e->props[k].property, "dmarc") == 0)
				*disp = strdup(e->props[k].value);
	}
	dkk_ar_free(parsed);
	free(ar);
	return why;
}

static void
forwarded_lowered(void)
{
	struct unit_fx fx;
	struct dkk_dmarc_result d;
	struct dkk_override ao;
	dkk_verifier *v;
	char *m, *why, *disp;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ozone), 0);
	m = tag_subject(seal_by(&fx, signed_msg(&fx), "other.example"));
	v = fwd_verify(&fx, m, NULL, 0, &d);
	CU_ASSERT_EQUAL(d.policy, DKK_DMARC_REJECT);
	CU_ASSERT_EQUAL(d.disposition, DKK_DMARC_QUARANTINE);
	CU_ASSERT_EQUAL(d.overridden, 1);
	CU_ASSERT_EQUAL(d.override_forwarded, 1);
	CU_ASSERT_STRING_EQUAL(d.override_reason, "local_policy");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d.override_sealer);
	CU_ASSERT_STRING_EQUAL(d.override_sealer, "other.example");
	CU_ASSERT_EQUAL(d.override_instance, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d.override_comment);
	CU_ASSERT_STRING_EQUAL(d.override_comment,
	    "arc=pass as[1].d=other.example as[1].s=rsa");
	/* ADSP has no analogue: its fail stays, not overridden */
	CU_ASSERT_EQUAL(dkk_verifier_adsp(v, NULL), DKK_ADSP_FAIL);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_adsp_override(v, &ao), DKK_OK);
	CU_ASSERT_EQUAL(ao.overridden, 0);
	why = fwd_ar_reason(v, &disp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_PTR_NOT_NULL_FATAL(disp);
	CU_ASSERT_STRING_EQUAL(why, "local_policy: arc=pass, forwarded, "
	    "latest sealer other.example of instance 1, no trusted sealer "
	    "vouched: reject lowered to quarantine");
	CU_ASSERT_STRING_EQUAL(disp, "quarantine");
	free(why);
	free(disp);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

/* Without the option, the same message keeps its reject. */
static void
forwarded_off(void)
{
	struct unit_fx fx;
	char *m;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ozone), 0);
	m = tag_subject(seal_by(&fx, signed_msg(&fx), "other.example"));
	expect_unchanged(&fx, m, NULL);
	free(m);
	unit_fx_free(&fx);
}

static void
fwd_expect_reject(struct unit_fx *fx, const char *m)
{
	struct dkk_dmarc_result d;
	dkk_verifier *v = fwd_verify(fx, m, NULL, 0, &d);
	char *why, *disp;

	CU_ASSERT_EQUAL(d.disposition, DKK_DMARC_REJECT);
	CU_ASSERT_EQUAL(d.overridden, 0);
	CU_ASSERT_EQUAL(d.override_forwarded, 0);
	CU_ASSERT_PTR_NULL(d.override_reason);
	why = fwd_ar_reason(v, &disp);
	CU_ASSERT_PTR_NULL(why);
	CU_ASSERT_PTR_NOT_NULL(disp);
	if (disp != NULL)
		CU_ASSERT_STRING_EQUAL(disp, "reject");
	free(why);
	free(disp);
	dkk_verifier_free(v);
}

/* A chain that fails, or none at all, is not forwarded mail. */
static void
forwarded_chain_fails_or_none(void)
{
	struct unit_fx fx;
	struct dkk_arc_result r;
	struct dkk_dmarc_result d;
	dkk_verifier *v;
	char *m, *f;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ozone), 0);
	m = tag_subject(seal_by(&fx, signed_msg(&fx), "other.example"));
	f = concat(m, "-- \r\nlist footer\r\n");
	v = fwd_verify(&fx, f, NULL, 0, &d);
	CU_ASSERT_EQUAL(dkk_verifier_arc(v, &r), DKK_OK);
	CU_ASSERT_EQUAL(r.result, DKK_ARC_FAIL);
	dkk_verifier_free(v);
	fwd_expect_reject(&fx, f);
	free(f);
	free(m);
	m = tag_subject(signed_msg(&fx));
	v = fwd_verify(&fx, m, NULL, 0, &d);
	CU_ASSERT_EQUAL(dkk_verifier_arc(v, &r), DKK_OK);
	CU_ASSERT_EQUAL(r.result, DKK_ARC_NONE);
	dkk_verifier_free(v);
	fwd_expect_reject(&fx, m);
	free(m);
	unit_fx_free(&fx);
}

/* Only reject is lowered: quarantine stays quarantine (not marked as
 * overridden), none stays none. */
static void
forwarded_quarantine_none_unchanged(void)
{
	static const char *const pol[] = { "p=quarantine", "p=none" };
	static const enum dkk_dmarc_policy want[] = {
	    DKK_DMARC_QUARANTINE, DKK_DMARC_POLICY_NONE };
	struct unit_fx fx;
	struct dkk_dmarc_result d;
	dkk_verifier *v;
	char *z, *m;
	size_t i;

	for (i = 0; i < 2; i++) {
		z = replace(ozone, "p=reject", pol[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(z);
		CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, z), 0);
		m = tag_subject(seal_by(&fx, signed_msg(&fx),
		    "other.example"));
		v = fwd_verify(&fx, m, NULL, 0, &d);
		CU_ASSERT_EQUAL(d.policy, want[i]);
		CU_ASSERT_EQUAL(d.disposition, want[i]);
		CU_ASSERT_EQUAL(d.overridden, 0);
		CU_ASSERT_EQUAL(d.override_forwarded, 0);
		dkk_verifier_free(v);
		free(m);
		free(z);
		unit_fx_free(&fx);
	}
}

/* A trusted sealer that vouched wins: none, not quarantine. */
static void
forwarded_trusted_wins(void)
{
	struct unit_fx fx;
	struct dkk_dmarc_result d;
	dkk_verifier *v;
	char *m, *why, *disp;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ozone), 0);
	m = tag_subject(seal_by(&fx, signed_msg(&fx), "lists.example.org"));
	v = fwd_verify(&fx, m, trust_lists, 0, &d);
	CU_ASSERT_EQUAL(d.disposition, DKK_DMARC_POLICY_NONE);
	CU_ASSERT_EQUAL(d.overridden, 1);
	CU_ASSERT_EQUAL(d.override_forwarded, 0);
	CU_ASSERT_STRING_EQUAL(d.override_sealer, "lists.example.org");
	why = fwd_ar_reason(v, &disp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "trusted sealer lists.example.org"));
	CU_ASSERT_PTR_NULL(strstr(why, "forwarded"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(disp);
	CU_ASSERT_STRING_EQUAL(disp, "none");
	free(why);
	free(disp);
	dkk_verifier_free(v);
	/* a trusted sealer that did not vouch (it sealed after the
	 * change): forwarded mail like any other */
	free(m);
	m = seal_by(&fx, tag_subject(signed_msg(&fx)), "lists.example.org");
	v = fwd_verify(&fx, m, trust_lists, 0, &d);
	CU_ASSERT_EQUAL(d.disposition, DKK_DMARC_QUARANTINE);
	CU_ASSERT_EQUAL(d.override_forwarded, 1);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

/* RFC 7489 mode: its own reason type "forwarded" (appendix C). */
static void
forwarded_rfc7489_reason(void)
{
	static const char list[] = "com\norg\nexample\n";
	struct unit_tmp t;
	struct unit_fx fx;
	struct dkk_dmarc_result d;
	dkk_verifier *v;
	char *m, *why, *disp;

	CU_ASSERT_EQUAL_FATAL(unit_tmp_write(&t, "psl.dat", list,
	    strlen(list)), 0);
	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ozone), 0);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_use_psl(fx.ctx, t.path), DKK_OK);
	m = tag_subject(seal_by(&fx, signed_msg(&fx), "other.example"));
	v = fwd_verify(&fx, m, NULL, 1, &d);
	CU_ASSERT_EQUAL(d.disposition, DKK_DMARC_QUARANTINE);
	CU_ASSERT_EQUAL(d.override_forwarded, 1);
	CU_ASSERT_STRING_EQUAL(d.override_reason, "forwarded");
	why = fwd_ar_reason(v, &disp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_EQUAL(strncmp(why, "forwarded: arc=pass, forwarded", 30),
	    0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(disp);
	CU_ASSERT_STRING_EQUAL(disp, "quarantine");
	free(why);
	free(disp);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
	unit_tmp_remove(&t);
}

static const struct unit_test tests[] = {
	{ "override_aar_contents", override_aar_contents },
	{ "override_trusted_pass", override_trusted_pass },
	{ "override_untrusted_sealer", override_untrusted_sealer },
	{ "override_chain_fails", override_chain_fails },
	{ "override_lower_instance_fail", override_lower_instance_fail },
	{ "override_higher_instance", override_higher_instance },
	{ "override_list_copied", override_list_copied },
	{ "forwarded_lowered", forwarded_lowered },
	{ "forwarded_off", forwarded_off },
	{ "forwarded_chain_fails_or_none", forwarded_chain_fails_or_none },
	{ "forwarded_quarantine_none_unchanged",
	    forwarded_quarantine_none_unchanged },
	{ "forwarded_trusted_wins", forwarded_trusted_wins },
	{ "forwarded_rfc7489_reason", forwarded_rfc7489_reason },
	{ NULL, NULL }
};

void
suite_override(void)
{
	unit_suite("override", tests);
}
