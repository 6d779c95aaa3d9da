/*
 * test_keydir.c: is a key published (dkk_record_check against a zone
 * file), and the active key of a key directory (dkk_keydir).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static const char records[] =
    "swapped._domainkey.example.com. 300 IN TXT \"v=DKIM1; k=rsa; p=$ED\"\n"
    "revoked._domainkey.example.com. 300 IN TXT \"v=DKIM1; k=rsa; p=\"\n"
    "notdkim._domainkey.example.com. 300 IN TXT \"hello world\"\n"
    "two._domainkey.example.com. 300 IN TXT \"v=DKIM1; p=\"\n"
    "two._domainkey.example.com. 300 IN TXT \"v=DKIM1; p=$RSA\"\n"
    "folded._domainkey.example.com. 300 IN TXT \"v=DKIM1; k=ed25519; \" "
    "\"p= $ED \"\n"
    "web._domainkey.example.com. 300 IN TXT \"v=DKIM1; s=web; p=$RSA\"\n"
    "sha1._domainkey.example.com. 300 IN TXT \"v=DKIM1; h=sha1; p=$RSA\"\n"
    "upper._domainkey.example.com. 300 IN TXT \"v=DKIM1; k=RSA; p=$RSA\"\n";

static enum dkk_record_state
state_of(struct unit_fx *fx, const char *sel, const dkk_key *key)
{
	enum dkk_record_state st = (enum dkk_record_state)-1;

	CU_ASSERT_EQUAL(dkk_record_check(fx->ctx, sel, "example.com", key,
	    &st), DKK_OK);
	return st;
}

static void
keycheck_states(void)
{
	struct unit_fx fx;

	if (unit_fx_init(&fx, records) != 0)
		return;
	CU_ASSERT_EQUAL(state_of(&fx, "rsa", fx.rsa), DKK_RECORD_MATCH);
	CU_ASSERT_EQUAL(state_of(&fx, "ed", fx.ed), DKK_RECORD_MATCH);
	CU_ASSERT_EQUAL(state_of(&fx, "ed", fx.rsa), DKK_RECORD_DIFFERS);
	CU_ASSERT_EQUAL(state_of(&fx, "nothere", fx.rsa), DKK_RECORD_MISSING);
	CU_ASSERT_EQUAL(state_of(&fx, "notdkim", fx.rsa), DKK_RECORD_MISSING);
	CU_ASSERT_EQUAL(state_of(&fx, "revoked", fx.rsa), DKK_RECORD_REVOKED);
	CU_ASSERT_EQUAL(state_of(&fx, "rsa", NULL), DKK_RECORD_PRESENT);
	CU_ASSERT_EQUAL(state_of(&fx, "revoked", NULL), DKK_RECORD_REVOKED);
	unit_fx_free(&fx);
}

/* The same bytes under another k= are another key. */
static void
keycheck_key_type_counts(void)
{
	struct unit_fx fx;

	if (unit_fx_init(&fx, records) != 0)
		return;
	CU_ASSERT_EQUAL(state_of(&fx, "swapped", fx.ed), DKK_RECORD_DIFFERS);
	CU_ASSERT_EQUAL(state_of(&fx, "folded", fx.ed), DKK_RECORD_MATCH);
	unit_fx_free(&fx);
}

/* Our key's bytes in a record receivers will not use for it (RFC 6376
 * 3.6.1: s= without email, h= without sha256, k= values are
 * case-sensitive) are not a match: mail signed with it would fail. */
static void
keycheck_unusable_record_differs(void)
{
	struct unit_fx fx;

	if (unit_fx_init(&fx, records) != 0)
		return;
	CU_ASSERT_EQUAL(state_of(&fx, "web", fx.rsa), DKK_RECORD_DIFFERS);
	CU_ASSERT_EQUAL(state_of(&fx, "sha1", fx.rsa), DKK_RECORD_DIFFERS);
	CU_ASSERT_EQUAL(state_of(&fx, "upper", fx.rsa), DKK_RECORD_DIFFERS);
	unit_fx_free(&fx);
}

static void
keycheck_best_record_wins(void)
{
	struct unit_fx fx;

	if (unit_fx_init(&fx, records) != 0)
		return;
	CU_ASSERT_EQUAL(state_of(&fx, "two", fx.rsa), DKK_RECORD_MATCH);
	CU_ASSERT_EQUAL(state_of(&fx, "two", fx.ed), DKK_RECORD_REVOKED);
	unit_fx_free(&fx);
}

/* A resolver that answers every name with one record and a DNSSEC state
 * of its choosing. */
struct dnssec_answer {
	const char *txt;
	enum dkk_dnssec dnssec;
};

static int
dnssec_query(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	const struct dnssec_answer *d = arg;
	const char *const txt[] = { d->txt };
	const size_t len[] = { strlen(d->txt) };
	struct dkk_dns_answer a = { DKK_DNS_OK, d->dnssec, 300, 1, txt, len };

	(void)name;
	cb(cbarg, &a);
	return DKK_OK;
}

/* A matching record that DNSSEC calls bogus is no record receivers that
 * validate can use now: temperror, as the verifier says. */
static void
keycheck_bogus_is_temperror(void)
{
	static const struct dkk_resolver ops = { .query_txt = dnssec_query };
	struct dnssec_answer d;
	struct unit_fx fx;
	char *txt;

	if (unit_fx_init(&fx, NULL) != 0)
		return;
	CU_ASSERT_FATAL(asprintf(&txt, "v=DKIM1; k=ed25519; p=%s",
	    fx.ed_p) > 0);
	d.txt = txt;
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_resolver(fx.ctx, &ops, &d), DKK_OK);
	d.dnssec = DKK_DNSSEC_SECURE;
	CU_ASSERT_EQUAL(state_of(&fx, "ed", fx.ed), DKK_RECORD_MATCH);
	d.dnssec = DKK_DNSSEC_BOGUS;
	CU_ASSERT_EQUAL(state_of(&fx, "ed", fx.ed), DKK_RECORD_TEMPERROR);
	free(txt);
	unit_fx_free(&fx);
}

static void
keycheck_state_names(void)
{
	CU_ASSERT_STRING_EQUAL(dkk_record_state_name(DKK_RECORD_MATCH), "ok");
	CU_ASSERT_STRING_EQUAL(dkk_record_state_name(DKK_RECORD_REVOKED),
	    "revoked");
	CU_ASSERT_PTR_NULL(dkk_record_state_name((enum dkk_record_state)99));
}

/* ---- key directories ---- */

struct kdir {
	char root[256];
	char dom[300];
};

static int
kdir_put(const struct kdir *d, const char *name, const char *text)
{
	char path[400], tmp[420];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", d->dom, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static int
kdir_make(struct kdir *d)
{
	const char *t = getenv("TMPDIR");

	snprintf(d->root, sizeof(d->root), "%s/unit-keydir.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(d->root) == NULL)
		return -1;
	snprintf(d->dom, sizeof(d->dom), "%s/example.com", d->root);
	return mkdir(d->dom, 0700);
}

static void
kdir_remove(const struct kdir *d)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", d->root);
}

static int
same_public(const dkk_key *a, const char *p64)
{
	char *p;
	int same;

	if (dkk_key_public(a, &p) != DKK_OK)
		return 0;
	same = strcmp(p, p64) == 0;
	free(p);
	return same;
}

static void
keydir_follows_active(void)
{
	const dkk_key *k1 = NULL, *k2 = NULL;
	const char *sel = NULL;
	struct unit_fx fx;
	struct kdir d;
	dkk_keydir *kd;
	dkk_key *ed;
	char *edpem = NULL;

	if (unit_fx_init(&fx, NULL) != 0)
		return;
	CU_ASSERT_FATAL(kdir_make(&d) == 0);
	CU_ASSERT_FATAL(dkk_key_generate(fx.ctx, "ed25519", 0, &edpem,
	    &ed) == DKK_OK);
	CU_ASSERT(kdir_put(&d, "2026-11.key", fx.rsa_pem) == 0);
	CU_ASSERT(kdir_put(&d, "2026-12.key", edpem) == 0);
	CU_ASSERT(kdir_put(&d, "active", "2026-11\n") == 0);
	CU_ASSERT_FATAL(dkk_keydir_new(fx.ctx, d.root, &kd) == DKK_OK);
	CU_ASSERT_EQUAL(dkk_keydir_active(kd, "example.com", &k1, &sel),
	    DKK_OK);
	CU_ASSERT_STRING_EQUAL(sel, "2026-11");
	CU_ASSERT(k1 != NULL && same_public(k1, fx.rsa_p));
	/* unchanged: the same key, not loaded again */
	CU_ASSERT_EQUAL(dkk_keydir_active(kd, "example.com", &k2, &sel),
	    DKK_OK);
	CU_ASSERT_PTR_EQUAL(k1, k2);
	/* a switch (rename) is seen; the old key stays usable */
	CU_ASSERT(kdir_put(&d, "active", "2026-12\n") == 0);
	CU_ASSERT_EQUAL(dkk_keydir_active(kd, "example.com", &k2, &sel),
	    DKK_OK);
	CU_ASSERT_STRING_EQUAL(sel, "2026-12");
	CU_ASSERT_STRING_EQUAL(dkk_key_type(k2), "ed25519");
	CU_ASSERT_STRING_EQUAL(dkk_key_type(k1), "rsa");
	/* reload: read again though nothing changed */
	dkk_keydir_reload(kd);
	CU_ASSERT_EQUAL(dkk_keydir_active(kd, "example.com", &k1, &sel),
	    DKK_OK);
	CU_ASSERT_PTR_NOT_EQUAL(k1, k2);
	CU_ASSERT_STRING_EQUAL(sel, "2026-12");
	dkk_keydir_free(kd);
	kdir_remove(&d);
	free(edpem);
	unit_fx_free(&fx);
}

/* dkk_sign_opts.domains with keydir: d= is the longest candidate that
 * covers the From domain, signed with that domain's active key; a From
 * no candidate covers gives DKK_ENODOMAIN at final, never a signature. */
static void
keydir_signer_picks_domain(void)
{
	static const char *const cands[] = {
		"example.com", "mail.example.com", "example.org", NULL
	};
	static const char m1[] = "From: Joe <joe@Sub.Example.COM>\r\n\r\n"
	    "Hi.\r\n";
	static const char m2[] = "From: a@example.net\r\n\r\n";
	static const char m3[] = "From: a@example.org\r\n\r\n";
	static const char m4[] = "From: a@example.com, b@example.net\r\n\r\n";
	struct dkk_sign_opts o;
	struct unit_fx fx;
	struct kdir d;
	dkk_keydir *kd;
	dkk_signer *s;
	char *field = NULL;

	if (unit_fx_init(&fx, NULL) != 0)
		return;
	CU_ASSERT_FATAL(kdir_make(&d) == 0);
	CU_ASSERT(kdir_put(&d, "2026-11.key", fx.rsa_pem) == 0);
	CU_ASSERT(kdir_put(&d, "active", "2026-11\n") == 0);
	CU_ASSERT_FATAL(dkk_keydir_new(fx.ctx, d.root, &kd) == DKK_OK);
	memset(&o, 0, sizeof(o));
	o.domains = cands;
	o.keydir = kd;
	CU_ASSERT_EQUAL_FATAL(dkk_signer_new(fx.ctx, &o, &s), DKK_OK);
	CU_ASSERT_PTR_NULL(dkk_signer_domain(s));
	CU_ASSERT_EQUAL(dkk_signer_update(s, m1, strlen(m1)), DKK_OK);
	CU_ASSERT_STRING_EQUAL(dkk_signer_domain(s), "example.com");
	CU_ASSERT_STRING_EQUAL(dkk_signer_selector(s), "2026-11");
	CU_ASSERT_EQUAL(dkk_signer_final(s, 0, &field), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL(field != NULL ? strstr(field, "d=example.com;")
	    : NULL);
	free(field);
	dkk_signer_free(s);
	/* no candidate: no signature */
	CU_ASSERT_EQUAL_FATAL(dkk_signer_new(fx.ctx, &o, &s), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_update(s, m2, strlen(m2)), DKK_OK);
	CU_ASSERT_PTR_NULL(dkk_signer_domain(s));
	field = NULL;
	CU_ASSERT_EQUAL(dkk_signer_final(s, 0, &field), DKK_ENODOMAIN);
	CU_ASSERT_PTR_NULL(field);
	dkk_signer_free(s);
	/* an author outside every candidate: not signed at all */
	CU_ASSERT_EQUAL_FATAL(dkk_signer_new(fx.ctx, &o, &s), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_update(s, m4, strlen(m4)), DKK_OK);
	CU_ASSERT_PTR_NULL(dkk_signer_domain(s));
	dkk_signer_free(s);
	/* a candidate without a key directory entry: the keydir's error */
	o.domains = cands + 2;
	CU_ASSERT_EQUAL_FATAL(dkk_signer_new(fx.ctx, &o, &s), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_update(s, m3, strlen(m3)), DKK_EIO);
	dkk_signer_free(s);
	dkk_keydir_free(kd);
	kdir_remove(&d);
	unit_fx_free(&fx);
}

static void
keydir_refuses_bad_names(void)
{
	const dkk_key *k;
	const char *sel;
	struct unit_fx fx;
	struct kdir d;
	dkk_keydir *kd;

	if (unit_fx_init(&fx, NULL) != 0)
		return;
	CU_ASSERT_FATAL(kdir_make(&d) == 0);
	CU_ASSERT_FATAL(dkk_keydir_new(fx.ctx, d.root, &kd) == DKK_OK);
	CU_ASSERT_EQUAL(dkk_keydir_active(kd, "example.com", &k, &sel),
	    DKK_EIO);		/* no active file */
	CU_ASSERT(strstr(dkk_ctx_error(fx.ctx), "active") != NULL);
	CU_ASSERT(kdir_put(&d, "active", "../../etc/key\n") == 0);
	CU_ASSERT_EQUAL(dkk_keydir_active(kd, "example.com", &k, &sel),
	    DKK_ESYNTAX);
	CU_ASSERT(kdir_put(&d, "active", "gone\n") == 0);
	CU_ASSERT_EQUAL(dkk_keydir_active(kd, "example.com", &k, &sel),
	    DKK_EIO);		/* gone.key does not exist */
	CU_ASSERT_EQUAL(dkk_keydir_active(kd, "../example.com", &k, &sel),
	    DKK_EINVAL);
	CU_ASSERT(dkk_keydir_name_valid("2026-11-2"));
	CU_ASSERT(!dkk_keydir_name_valid("a/b"));
	CU_ASSERT(!dkk_keydir_name_valid(".."));
	CU_ASSERT(!dkk_keydir_name_valid(""));
	dkk_keydir_free(kd);
	kdir_remove(&d);
	unit_fx_free(&fx);
}

static const struct unit_test tests[] = {
	{ "keycheck_states", keycheck_states },
	{ "keycheck_key_type_counts", keycheck_key_type_counts },
	{ "keycheck_unusable_record_differs", keycheck_unusable_record_differs },
	{ "keycheck_best_record_wins", keycheck_best_record_wins },
	{ "keycheck_bogus_is_temperror", keycheck_bogus_is_temperror },
	{ "keycheck_state_names", keycheck_state_names },
	{ "keydir_follows_active", keydir_follows_active },
	{ "keydir_signer_picks_domain", keydir_signer_picks_domain },
	{ "keydir_refuses_bad_names", keydir_refuses_bad_names },
	{ NULL, NULL }
};

void
suite_keydir(void)
{
	unit_suite("keydir", tests);
}
