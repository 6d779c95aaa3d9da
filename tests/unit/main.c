/*
 * main.c: runs every CUnit suite and reports each test as a TAP line, so
 * that tests/run.sh can count them with the other test programs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <CUnit/Basic.h>

#include "unit.h"

static int tap_count;
static int tap_failed;

void
unit_suite(const char *name, const struct unit_test *tests)
{
	CU_pSuite s = CU_add_suite(name, NULL, NULL);

	for (; s != NULL && tests->name != NULL; tests++)
		CU_add_test(s, tests->name, tests->fn);
}

const char *
unit_srcdir(void)
{
	const char *d = getenv("TOP_SRCDIR");

	return d != NULL ? d : ".";
}

/* $DKK_VECTORS/FILE, else the tree's own: TOP_SRCDIR/tests/vectors/FILE. */
char *
unit_vector(const char *file)
{
	const char *d = getenv("DKK_VECTORS");
	char *p;
	int n;

	if (d != NULL)
		n = asprintf(&p, "%s/%s", d, file);
	else
		n = asprintf(&p, "%s/tests/vectors/%s", unit_srcdir(), file);
	return n < 0 ? NULL : p;
}

char *
unit_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL) {
		*len = fread(p, 1, (size_t)n, f);
		p[*len] = '\0';
	}
	fclose(f);
	return p;
}

int
unit_tmp_write(struct unit_tmp *t, const char *name, const void *data,
    size_t len)
{
	const char *tmp = getenv("TMPDIR");
	FILE *fp;
	size_t n;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	t->path[0] = '\0';
	snprintf(t->dir, sizeof(t->dir), "%s/dkk-unit-XXXXXX", tmp);
	if (mkdtemp(t->dir) == NULL) {
		t->dir[0] = '\0';
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
	if ((fp = fopen(t->path, "wb")) == NULL) {
		unit_tmp_remove(t);
		return -1;
	}
	n = fwrite(data, 1, len, fp);
	if (fclose(fp) != 0 || n != len) {
		unit_tmp_remove(t);
		return -1;
	}
	return 0;
}

void
unit_tmp_remove(struct unit_tmp *t)
{
	if (t->path[0] != '\0')
		unlink(t->path);
	if (t->dir[0] != '\0')
		rmdir(t->dir);
	t->path[0] = t->dir[0] = '\0';
}

int64_t
unit_clock(void *arg)
{
	return *(const int64_t *)arg;
}

/* A p= value as quoted zone strings of at most 200 octets ("a" "b"),
 * to stand inside the quotes of a TXT record. */
static void
fx_put_key(struct buf *b, const char *p64)
{
	size_t len = strlen(p64), i;

	for (i = 0; i < len; i += 200) {
		if (i > 0)
			buf_adds(b, "\" \"");
		buf_add(b, p64 + i, len - i < 200 ? len - i : 200);
	}
}

/* The zone: the two keys, then extra with $RSA and $ED expanded. */
static char *
fx_zone(const struct unit_fx *fx, const char *extra)
{
	static const char head[] = "example.com. 300 IN A 192.0.2.1\n"
	    "rsa._domainkey.example.com. 300 IN TXT \"v=DKIM1; k=rsa; p=$RSA\"\n"
	    "ed._domainkey.example.com. 300 IN TXT "
	    "\"v=DKIM1; k=ed25519; p=$ED\"\n";
	struct buf out;
	const char *p;
	int part;

	buf_init(&out);
	for (part = 0; part < 2; part++) {
		p = part == 0 ? head : extra != NULL ? extra : "";
		while (*p != '\0') {
			if (strncmp(p, "$RSA", 4) == 0) {
				fx_put_key(&out, fx->rsa_p);
				p += 4;
			} else if (strncmp(p, "$ED", 3) == 0) {
				fx_put_key(&out, fx->ed_p);
				p += 3;
			} else {
				buf_addc(&out, *p++);
			}
		}
	}
	buf_addc(&out, '\n');
	return buf_take(&out);
}

int
unit_fx_init(struct unit_fx *fx, const char *extra)
{
	struct unit_tmp t;
	char *pem = NULL;
	int rc;

	memset(fx, 0, sizeof(*fx));
	fx->now = 1700000000;
	if (dkk_ctx_new(&fx->ctx) != DKK_OK ||
	    dkk_ctx_set_clock(fx->ctx, unit_clock, &fx->now) != DKK_OK ||
	    dkk_key_generate(fx->ctx, "rsa", 1024, &fx->rsa_pem,
	    &fx->rsa) != DKK_OK ||
	    dkk_key_generate(fx->ctx, "ed25519", 0, &pem, &fx->ed) != DKK_OK ||
	    dkk_key_public(fx->rsa, &fx->rsa_p) != DKK_OK ||
	    dkk_key_public(fx->ed, &fx->ed_p) != DKK_OK ||
	    (fx->zone = fx_zone(fx, extra)) == NULL) {
		free(pem);
		CU_FAIL("cannot set up the fixture");
		return -1;
	}
	free(pem);
	if (unit_tmp_write(&t, "t.zone", fx->zone, strlen(fx->zone)) != 0) {
		CU_FAIL("cannot write the zone file");
		return -1;
	}
	rc = dkk_ctx_use_zone(fx->ctx, t.path);
	unit_tmp_remove(&t);
	if (rc != DKK_OK) {
		fprintf(stderr, "zone: %s\n", dkk_ctx_error(fx->ctx));
		CU_FAIL("cannot load the zone");
		return -1;
	}
	return 0;
}

void
unit_fx_free(struct unit_fx *fx)
{
	dkk_ctx_free(fx->ctx);
	free(fx->rsa_pem);
	free(fx->rsa_p);
	free(fx->ed_p);
	free(fx->zone);
	memset(fx, 0, sizeof(*fx));
}

char *
unit_sign(struct unit_fx *fx, const struct dkk_sign_opts *opts,
    const char *msg)
{
	dkk_signer *s;
	char *field = NULL, *out = NULL;
	int rc;

	rc = dkk_signer_new(fx->ctx, opts, &s);
	CU_ASSERT_EQUAL(rc, DKK_OK);
	if (rc != DKK_OK)
		return NULL;
	rc = dkk_signer_update(s, msg, strlen(msg));
	CU_ASSERT_EQUAL(rc, DKK_OK);
	if (rc == DKK_OK) {
		rc = dkk_signer_final(s, 0, &field);
		CU_ASSERT_EQUAL(rc, DKK_OK);
	}
	dkk_signer_free(s);
	if (rc == DKK_OK && asprintf(&out, "%s\r\n%s", field, msg) < 0)
		out = NULL;
	free(field);
	return out;
}

dkk_verifier *
unit_verify(dkk_ctx *ctx, const char *msg, size_t len, size_t chunk)
{
	return unit_verify_opts(ctx, NULL, msg, len, chunk);
}

dkk_verifier *
unit_verify_opts(dkk_ctx *ctx, const struct dkk_verify_opts *opts,
    const char *msg, size_t len, size_t chunk)
{
	dkk_verifier *v;
	size_t off, n;
	int rc;

	rc = dkk_verifier_new(ctx, opts, &v);
	CU_ASSERT_EQUAL(rc, DKK_OK);
	if (rc != DKK_OK)
		return NULL;
	if (chunk == 0)
		chunk = len > 0 ? len : 1;
	for (off = 0; off < len && rc == DKK_OK; off += n) {
		n = len - off < chunk ? len - off : chunk;
		rc = dkk_verifier_update(v, msg + off, n);
	}
	CU_ASSERT_EQUAL(rc, DKK_OK);
	if (rc == DKK_OK) {
		rc = dkk_verifier_wait(v);
		CU_ASSERT_EQUAL(rc, DKK_OK);
	}
	if (rc != DKK_OK) {
		dkk_verifier_free(v);
		return NULL;
	}
	return v;
}

const char *
unit_result(const dkk_verifier *v, size_t i)
{
	static char text[64];
	const struct dkk_sig_result *r = dkk_verifier_result(v, i);

	if (r == NULL)
		return "-";
	snprintf(text, sizeof(text), "%s/%s", dkk_verdict_name(r->verdict),
	    dkk_reason_name(r->reason));
	return text;
}

/* relaxed/relaxed signing options for example.com. */
struct dkk_sign_opts
unit_opts(const dkk_key *key, const char *selector)
{
	struct dkk_sign_opts o;

	memset(&o, 0, sizeof(o));
	o.key = key;
	o.domain = "example.com";
	o.selector = selector;
	o.header_canon = DKK_CANON_RELAXED;
	o.body_canon = DKK_CANON_RELAXED;
	return o;
}

/* A UDP socket on loopback, not read by anyone: a resolver that never
 * answers, or one that a test answers by hand.  Its port in *port. */
int
unit_udp_loopback(unsigned *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static void
tap_done(const CU_pTest test, const CU_pSuite suite,
    const CU_pFailureRecord failure)
{
	CU_pFailureRecord f;

	tap_count++;
	if (failure == NULL) {
		printf("ok %d - %s.%s\n", tap_count, suite->pName, test->pName);
		return;
	}
	tap_failed++;
	printf("not ok %d - %s.%s\n", tap_count, suite->pName, test->pName);
	for (f = failure; f != NULL; f = f->pNext)
		printf("#   %s:%u: %s\n", f->strFileName, f->uiLineNumber,
		    f->strCondition);
}

int
main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite_codec();
	suite_taglist();
	suite_canon();
	suite_header();
	suite_sig();
	suite_keyrec();
	suite_zone();
	suite_keycache();
	suite_verify();
	suite_adsp();
	suite_report();
	suite_ruf();
	suite_dmarc();
	suite_ar();
	suite_sign();
	suite_vectors();
	suite_keydir();
	suite_limits();
	suite_worst();
	suite_arparse();
	suite_settings();
	suite_selfverify();
	suite_resolver();
	suite_spf();
	suite_spfmacro();
	suite_policy();
	suite_explain();
	suite_arc();
	suite_override();
	suite_store();
	suite_atps();
	CU_set_test_complete_handler(tap_done);
	if (only != NULL) {
		CU_pSuite s = CU_get_suite(only);

		if (s == NULL) {
			fprintf(stderr, "unit: no suite named %s\n", only);
			return 2;
		}
		CU_run_suite(s);
	} else {
		CU_run_all_tests();
	}
	printf("1..%d\n", tap_count);
	CU_cleanup_registry();
	return tap_failed > 0 ? 1 : 0;
}
