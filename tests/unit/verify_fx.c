/*
 * verify_fx.c: what the verifier's suites share (verify_fx.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_fx.h"

const struct dkk_verify_opts with_adsp = { .adsp = 1 };

const char msg[] =
    "Received: from client1.football.example.com [192.0.2.1]\r\n"
    "      by submitserver.example.com; Fri, 11 Jul 2003 21:01:54 -0700\r\n"
    "From: Joe SixPack <joe@example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

/* A 512-bit RSA key made with "openssl genrsa -traditional 512" for these
 * tests only, and its public half as published. */
const char key512_pem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIBOwIBAAJBAPNnN2G8FI18SsCKZbkhERBzTNioEB0zkGUyKEsMv4/dkWPDPasP\n"
    "VgW0pwOVlIyKo2CCDqkQmeBOW39S0d6Zs9MCAwEAAQJAD3vMaRo20H1MoAztxaYV\n"
    "2M8M32dphwIFuHpFV+jassMMv19nCt92nxiMiFXOOH6pLq56RX3HXbjVVb+yj4vN\n"
    "MQIhAPmrb8aWXiSfVki9rkzXeSxfWz0DIauo42BTBBN/UqZ5AiEA+ZMa4pXMDuq/\n"
    "qFXZH2giXwkITaDFrLozGTngUT1MSasCIQDyCvi27mngWTR+Gp2S00Ye9WbvdEy9\n"
    "LWMZrAGEoWfQCQIhAMxUe/Z23hJ4b2HKp3DnOPzF0F59+lloON22XMkmfobxAiB+\n"
    "gGzz2SrLV0q7o/l5k7UsAfATqVd6zgYPABd5Afvy4A==\n"
    "-----END RSA PRIVATE KEY-----\n";
/* Selectors for the key checks of RFC 6376 6.1.2, and ADSP records
 * (RFC 5617 4.2.1) for the author domains of the ADSP tests. */
const char zone_extra[] =
    "revoked._domainkey.example.com. TXT \"v=DKIM1; p=\"\n"
    "strict._domainkey.example.com. TXT \"v=DKIM1; t=s; p=$RSA\"\n"
    "testing._domainkey.example.com. TXT \"v=DKIM1; t=y; p=$RSA\"\n"
    "sha1only._domainkey.example.com. TXT \"v=DKIM1; h=sha1; p=$RSA\"\n"
    "edkey._domainkey.example.com. TXT \"v=DKIM1; k=ed25519; p=$ED\"\n"
    "notemail._domainkey.example.com. TXT \"v=DKIM1; s=other; p=$RSA\"\n"
    "spf._domainkey.example.com. TXT \"v=spf1 -all\"\n"
    "nodata._domainkey.example.com. A 192.0.2.2\n"
    "weak._domainkey.example.com. TXT \"v=DKIM1; p=" KEY512_SPKI "\"\n"
    "none.example. A 192.0.2.3\n"
    "d1.example. A 192.0.2.3\nd2.example. A 192.0.2.3\n"
    "d3.example. A 192.0.2.3\nd4.example. A 192.0.2.3\n"
    "d5.example. A 192.0.2.3\nd6.example. A 192.0.2.3\n"
    "d7.example. A 192.0.2.3\nd8.example. A 192.0.2.3\n"
    "_adsp._domainkey.unknown.example. TXT \"dkim=unknown\"\n"
    "_adsp._domainkey.all.example. TXT \"dkim=all\"\n"
    "_adsp._domainkey.discard.example. TXT \"dkim=discardable\"\n"
    "_adsp._domainkey.two.example. TXT \"dkim=all\"\n"
    "_adsp._domainkey.two.example. TXT \"dkim=unknown\"\n"
    "_adsp._domainkey.notadsp.example. TXT \"v=ADSP1; x=y\"\n"
    "_adsp._domainkey.badtag.example. TXT \"dkim=all; x-y=1\"\n"
    "_adsp._domainkey.upper.example. TXT \"DKIM=all\"\n"
    "_adsp._domainkey.lead.example. TXT \" dkim=all\"\n"
    "_adsp._domainkey.later.example. TXT \"t=y; dkim=all\"\n"
    "_adsp._domainkey.foo.example. TXT \"dkim=foo\"\n"
    "_adsp._domainkey.temp.example. TXT \"dkim=all\"\n"
    "_adsp._domainkey.example.com. TXT \"dkim=all\"\n";

int
fx_init(struct unit_fx *fx)
{
	return unit_fx_init(fx, zone_extra);
}

/* The DKIM-Signature field for len bytes of data; free with free(). */
char *
sign_field(struct unit_fx *fx, const struct dkk_sign_opts *o,
    const char *data, size_t len)
{
	dkk_signer *s;
	char *field = NULL;

	CU_ASSERT_EQUAL_FATAL(dkk_signer_new(fx->ctx, o, &s), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_update(s, data, len), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_final(s, 0, &field), DKK_OK);
	dkk_signer_free(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(field);
	return field;
}

/* s with the first occurrence of from replaced by to; free with free(). */
char *
replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *out;

	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	if (asprintf(&out, "%.*s%s%s", (int)(at - s), s, to,
	    at + strlen(from)) < 0)
		out = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	return out;
}

char *
concat(const char *a, const char *b)
{
	char *out;

	if (asprintf(&out, "%s%s", a, b) < 0)
		out = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	return out;
}

/* Verify m and assert the message verdict and each result, given as
 * "verdict/reason" strings; n is the expected signature count. */
void
vexpect(dkk_ctx *ctx, const char *m, const char *verdict, size_t n, ...)
{
	dkk_verifier *v = unit_verify(ctx, m, strlen(m), 0);
	const char *want, *got;
	va_list ap;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(dkk_verifier_count(v), n);
	CU_ASSERT_STRING_EQUAL(dkk_verdict_name(dkk_verifier_verdict(v)),
	    verdict);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		want = va_arg(ap, const char *);
		got = unit_result(v, i);
		if (strcmp(got, want) != 0) {
			fprintf(stderr, "signature %zu: %s (%s), want %s\n", i,
			    got, dkk_verifier_result(v, i) != NULL ?
			    dkk_verifier_result(v, i)->detail : "", want);
			CU_FAIL("unexpected result");
		}
	}
	va_end(ap);
	dkk_verifier_free(v);
}

static const struct dkk_dns_answer tr_tempfail = {
	DKK_DNS_TEMPFAIL, DKK_DNSSEC_UNKNOWN, 0, 0, NULL, NULL
};

static void
tr_answer(struct tres *r, const char *name, dkk_dns_cb cb, void *cbarg)
{
	size_t nl = strlen(name), sl;

	if (r->fail_suffix != NULL && (sl = strlen(r->fail_suffix)) <= nl &&
	    strcmp(name + nl - sl, r->fail_suffix) == 0)
		cb(cbarg, &tr_tempfail);
	else
		zone_query_txt(r->zone, name, cb, cbarg);
}

static int
tr_query(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	struct tres *r = arg;

	r->queries++;
	if (!r->async) {
		tr_answer(r, name, cb, cbarg);
		return DKK_OK;
	}
	if (r->n == TR_MAX || (r->q[r->n].name = strdup(name)) == NULL)
		return DKK_ENOMEM;
	r->q[r->n].cb = cb;
	r->q[r->n].cbarg = cbarg;
	r->n++;
	return DKK_OK;
}

static int
tr_process(void *arg)
{
	struct tres *r = arg;
	size_t i, n = r->n;

	r->n = 0;
	for (i = 0; i < n; i++) {
		tr_answer(r, r->q[i].name, r->q[i].cb, r->q[i].cbarg);
		free(r->q[i].name);
	}
	return DKK_OK;
}

static void
tr_release(void *arg)
{
	struct tres *r = arg;
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->q[i].name);
	zone_free(r->zone);
	free(r);
}

struct tres *
tr_install(struct unit_fx *fx, bool async, const char *fail_suffix)
{
	static const struct dkk_resolver ops = {
		.query_txt = tr_query,
		.wait = tr_process,
		.process = tr_process,
		.release = tr_release,
	};
	struct unit_tmp t;
	struct tres *r = calloc(1, sizeof(*r));
	struct buf err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	r->async = async;
	r->fail_suffix = fail_suffix;
	buf_init(&err);
	CU_ASSERT_EQUAL_FATAL(unit_tmp_write(&t, "t.zone", fx->zone,
	    strlen(fx->zone)), 0);
	CU_ASSERT_EQUAL(zone_load(&r->zone, t.path, &err), DKK_OK);
	unit_tmp_remove(&t);
	buf_clear(&err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->zone);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_resolver(fx->ctx, &ops, r), DKK_OK);
	return r;
}

/* msg with its From address at domain. */
char *
from_at(const char *domain)
{
	char addr[128];

	snprintf(addr, sizeof(addr), "joe@%s>", domain);
	return replace(msg, "joe@example.com>", addr);
}
