/*
 * bench.c: dkimkit against libopendkim 2.11, on the same messages and keys,
 * in one run (DESIGN.md, Performance; issue 9).
 *
 *	bench [--tiny] [--rounds N] [--out FILE] [--filter PATH]
 *	bench --only WORDS [--rounds N]		(for profiling)
 *
 * Both libraries get the same treatment: keys generated once at start-up
 * and handed over in memory (libopendkim re-reads its PEM per message, as
 * its API wants), public keys from a local file (a zone for dkimkit, a
 * DKIM_QUERY_FILE key file for libopendkim), messages in memory and fed in
 * one call.  Rows are run interleaved: every round times every row, for
 * both libraries, and the median of the rounds is reported.
 *
 * Peak RSS is measured in children (fork, then wait4's ru_maxrss) that
 * stream a generated message in 64 KiB chunks; it runs first, while the
 * parent is still small, because a child starts with its parent's pages.
 *
 * SPF (issue 20): check_host() evaluations per second of one record that
 * takes an include, an a and an mx to pass, dkimkit from its zone file
 * (the same zone as the keys) against libspf2 1.2 with its zone-file DNS
 * layer (SPF_dns_zone) holding the same records; libspf2 is optional at
 * configure time (HAVE_LIBSPF2), and without it the row is dkimkit's
 * alone.  Both run a fresh request per evaluation and keep nothing
 * between them but their parsed zones.
 *
 * --tiny runs every row once on tiny messages and fails (exit 1) when a
 * verdict is not pass: it checks the harness, not the speed.  --only times
 * just the rows whose name contains WORDS and prints them, nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gmp.h>
#include <nettle/rsa.h>
#include <nettle/sha2.h>
#include <nettle/version.h>

#include <dkim.h>

#ifdef HAVE_LIBSPF2
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <spf2/spf.h>
#include <spf2/spf_dns_zone.h>
#endif

#include "dkimkit.h"

#define DOMAIN		"bench.example"
#define SEL_RSA		"rsa"
#define SEL_ED		"ed"
#define LINE_MAX_LEN	128
#define CHUNK		65536
#define ROUND_SECONDS	0.25
#define MAX_ROUNDS	15
#define MIB		(1024.0 * 1024.0)
/* The SPF row's client: only DOMAIN's mx matches it (spf_zone below). */
#define SPF_CLIENT	"192.0.2.25"
#define SPF_SENDER	"user@" DOMAIN
#define SPF_HELO	"client.example"

enum lib { LIB_DK, LIB_OD, NLIB };
enum kind { TEXT, B64 };

/* ------------------------------------------------------------------ */
/* Messages: a deterministic generator of CRLF lines.                 */

static const char *const words[] = {
	"the", "message", "signature", "of", "a", "domain", "key", "and",
	"mail", "server", "header", "body", "hash", "verify", "to", "in",
	"postmaster", "relaxed", "simple", "canonical", "selector", "record"
};

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static const char *const head_common[] = {
	"From: Alice Example <alice@" DOMAIN ">",
	"To: Bob Example <bob@receiver.example>",
	"Subject: benchmark message",
	"Date: Mon, 23 Nov 2026 12:00:00 +0000",
	"Message-ID: <bench.1@" DOMAIN ">",
	"MIME-Version: 1.0"
};

static const char *const head_text[] = {
	"Content-Type: text/plain; charset=us-ascii",
	""
};

static const char *const head_b64[] = {
	"Content-Type: multipart/mixed; boundary=\"b1\"",
	"",
	"--b1",
	"Content-Type: text/plain; charset=us-ascii",
	"",
	"The attachment below is the data you asked for.",
	"Regards,  Alice",
	"",
	"--b1",
	"Content-Type: application/octet-stream",
	"Content-Transfer-Encoding: base64",
	"Content-Disposition: attachment; filename=\"data.bin\"",
	""
};

static const char *const tail_b64[] = { "", "--b1--" };

struct gen {
	enum kind kind;
	uint64_t want;		/* generated body octets wanted */
	uint64_t made;
	uint32_t rng;
	unsigned step;		/* fixed lines handed out so far */
	unsigned lineno;
	unsigned tail;
};

static void
gen_init(struct gen *g, enum kind kind, uint64_t body)
{
	memset(g, 0, sizeof(*g));
	g->kind = kind;
	g->want = body;
	g->rng = 2463534242u;
}

static uint32_t
gen_rand(struct gen *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 17;
	g->rng ^= g->rng << 5;
	return g->rng;
}

/* Words, now and then two spaces or a trailing one: relaxed has work. */
static size_t
gen_text(struct gen *g, char *out)
{
	size_t n = 0;
	uint32_t r;

	if (++g->lineno % 9 == 0)
		return 0;
	while (n < 64) {
		const char *w = words[gen_rand(g) % (sizeof(words) /
		    sizeof(words[0]))];
		size_t wl = strlen(w);

		memcpy(out + n, w, wl);
		n += wl;
		r = gen_rand(g) % 16;
		out[n++] = ' ';
		if (r == 0)
			out[n++] = ' ';
	}
	if (gen_rand(g) % 4 != 0)
		n--;
	return n;
}

static size_t
gen_b64(struct gen *g, char *out)
{
	size_t i;

	for (i = 0; i < 76; i++)
		out[i] = b64chars[gen_rand(g) & 63];
	return 76;
}

static size_t
gen_fixed(const char *const *lines, unsigned *i, char *out)
{
	size_t n = strlen(lines[*i]);

	memcpy(out, lines[(*i)++], n);
	return n;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The next line with its CRLF into out (LINE_MAX_LEN bytes); 0 at the end. */
static size_t
gen_line(struct gen *g, char *out)
{
	size_t n, nc = NELEM(head_common);
	size_t nh = g->kind == TEXT ? NELEM(head_text) : NELEM(head_b64);
	const char *const *h = g->kind == TEXT ? head_text : head_b64;
	unsigned j;

	if (g->step < nc) {
		n = gen_fixed(head_common, &g->step, out);
	} else if (g->step < nc + nh) {
		j = g->step - (unsigned)nc;
		n = gen_fixed(h, &j, out);
		g->step++;
	} else if (g->made < g->want) {
		n = g->kind == TEXT ? gen_text(g, out) : gen_b64(g, out);
		g->made += n + 2;
	} else if (g->kind == B64 && g->tail < NELEM(tail_b64)) {
		n = gen_fixed(tail_b64, &g->tail, out);
	} else {
		return 0;
	}
	out[n++] = '\r';
	out[n++] = '\n';
	return n;
}

/* Whole lines into buf (cap >= LINE_MAX_LEN); 0 at the end. */
static size_t
gen_read(struct gen *g, char *buf, size_t cap)
{
	size_t len = 0, n;

	while (cap - len >= LINE_MAX_LEN && (n = gen_line(g, buf + len)) > 0)
		len += n;
	return len;
}

struct msg {
	char *p;
	size_t len;
};

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		exit(2);
	}
	return p;
}

static void
msg_make(struct msg *m, enum kind kind, uint64_t body)
{
	struct gen g;
	size_t cap = (size_t)body + 4096, n;

	gen_init(&g, kind, body);
	m->p = xmalloc(cap);
	m->len = 0;
	while ((n = gen_read(&g, m->p + m->len, cap - m->len)) > 0)
		m->len += n;
}

/* field CRLF message */
static void
msg_prepend(struct msg *out, const char *field, const struct msg *m)
{
	size_t fl = strlen(field);

	out->len = fl + 2 + m->len;
	out->p = xmalloc(out->len);
	memcpy(out->p, field, fl);
	memcpy(out->p + fl, "\r\n", 2);
	memcpy(out->p + fl + 2, m->p, m->len);
}

/* ------------------------------------------------------------------ */
/* Keys and both libraries' set-up.                                   */

struct bench {
	bool tiny;
	int rounds;
	const char *out;
	const char *filter;
	const char *only;
	char dir[64];		/* temporary directory: zone and key file */
	char zone[96];
	char keyfile[96];
	dkk_ctx *ctx;
	dkk_key *rsa;
	dkk_key *ed;
	char *rsa_pem;
	DKIM_LIB *od;
#ifdef HAVE_LIBSPF2
	SPF_dns_server_t *spf_dns;
	SPF_server_t *spf;
#endif
	int failures;
};

/* The SPF row's records, in the zone file (data as a zone file writes it)
 * and in libspf2's zone layer (MX data: the exchange alone).  The record
 * at DOMAIN matches SPF_CLIENT on its last mechanism, after an include
 * that does not match (softfail inside) and an a that does not: five
 * lookups, as a sender's record with a provider's include commonly
 * takes. */
static const struct spf_rr {
	const char *name;
	const char *type;
	const char *data;
} spf_zone[] = {
	{ DOMAIN, "TXT", "v=spf1 ip4:198.51.100.0/24 include:_spf." DOMAIN
	    " a mx -all" },
	{ "_spf." DOMAIN, "TXT",
	    "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 ~all" },
	{ DOMAIN, "A", "192.0.2.1" },
	{ DOMAIN, "MX", "mx1." DOMAIN },
	{ "mx1." DOMAIN, "A", SPF_CLIENT }
};

static _Noreturn void
die(const char *what, int rc)
{
	fprintf(stderr, "bench: %s: %s\n", what, rc < 0 ? dkk_strerror(rc) :
	    "failed");
	exit(2);
}

/* TXT strings of at most 200 characters, as a zone file wants them. */
static void
zone_record(FILE *f, const char *sel, const char *k, const char *p)
{
	size_t i, n = strlen(p);

	fprintf(f, "%s._domainkey." DOMAIN ". 3600 IN TXT ( \"v=DKIM1; k=%s;"
	    " p=\"", sel, k);
	for (i = 0; i < n; i += 200)
		fprintf(f, "\n\t\"%.200s\"", p + i);
	fprintf(f, " )\n");
}

static void
keys_publish(struct bench *b)
{
	char *prsa, *ped;
	FILE *z, *kf;
	size_t i;

	if (dkk_key_public(b->rsa, &prsa) != DKK_OK ||
	    dkk_key_public(b->ed, &ped) != DKK_OK)
		die("public keys", DKK_ENOMEM);
	snprintf(b->zone, sizeof(b->zone), "%s/keys.zone", b->dir);
	snprintf(b->keyfile, sizeof(b->keyfile), "%s/keys.txt", b->dir);
	if ((z = fopen(b->zone, "w")) == NULL ||
	    (kf = fopen(b->keyfile, "w")) == NULL)
		die("writing the key files", DKK_EIO);
	zone_record(z, SEL_RSA, "rsa", prsa);
	zone_record(z, SEL_ED, "ed25519", ped);
	for (i = 0; i < NELEM(spf_zone); i++) {
		const struct spf_rr *rr = &spf_zone[i];

		fprintf(z, "%s. 3600 IN %s %s%s%s%s\n", rr->name, rr->type,
		    strcmp(rr->type, "MX") == 0 ? "10 " : "",
		    strcmp(rr->type, "TXT") == 0 ? "\"" : "", rr->data,
		    strcmp(rr->type, "TXT") == 0 ? "\"" :
		    strcmp(rr->type, "MX") == 0 ? "." : "");
	}
	fprintf(kf, SEL_RSA "._domainkey." DOMAIN " v=DKIM1; k=rsa; p=%s\n",
	    prsa);
	if (fclose(z) != 0 || fclose(kf) != 0)
		die("writing the key files", DKK_EIO);
	free(prsa);
	free(ped);
}

static void
setup_dkimkit(struct bench *b)
{
	char *pem;
	int rc;

	if ((rc = dkk_ctx_new(&b->ctx)) != DKK_OK)
		die("dkk_ctx_new", rc);
	if ((rc = dkk_key_generate(b->ctx, "rsa", 2048, &b->rsa_pem,
	    &b->rsa)) != DKK_OK)
		die("RSA-2048 key", rc);
	if ((rc = dkk_key_generate(b->ctx, "ed25519", 0, &pem, &b->ed)) !=
	    DKK_OK)
		die("Ed25519 key", rc);
	free(pem);
	keys_publish(b);
	if ((rc = dkk_ctx_use_zone(b->ctx, b->zone)) != DKK_OK) {
		fprintf(stderr, "bench: %s\n", dkk_ctx_error(b->ctx));
		exit(2);
	}
}

static void
setup_opendkim(struct bench *b)
{
	dkim_query_t qm = DKIM_QUERY_FILE;

	if ((b->od = dkim_init(NULL, NULL)) == NULL)
		die("dkim_init", 0);
	if (dkim_options(b->od, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &qm,
	    sizeof(qm)) != DKIM_STAT_OK ||
	    dkim_options(b->od, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, b->keyfile,
	    strlen(b->keyfile)) != DKIM_STAT_OK)
		die("dkim_options", 0);
}

#ifdef HAVE_LIBSPF2
static void
setup_libspf2(struct bench *b)
{
	size_t i;

	if ((b->spf_dns = SPF_dns_zone_new(NULL, "bench", 0)) == NULL)
		die("SPF_dns_zone_new", 0);
	for (i = 0; i < NELEM(spf_zone); i++) {
		const struct spf_rr *rr = &spf_zone[i];
		ns_type t = strcmp(rr->type, "TXT") == 0 ? ns_t_txt :
		    strcmp(rr->type, "MX") == 0 ? ns_t_mx : ns_t_a;

		if (SPF_dns_zone_add_str(b->spf_dns, rr->name, t,
		    NETDB_SUCCESS, rr->data) != SPF_E_SUCCESS)
			die("SPF_dns_zone_add_str", 0);
	}
	if ((b->spf = SPF_server_new_dns(b->spf_dns, 0)) == NULL)
		die("SPF_server_new_dns", 0);
}

static bool
spf2_check(struct bench *b)
{
	SPF_request_t *r;
	SPF_response_t *resp = NULL;
	bool pass = false;

	if ((r = SPF_request_new(b->spf)) == NULL)
		return false;
	if (SPF_request_set_ipv4_str(r, SPF_CLIENT) == SPF_E_SUCCESS &&
	    SPF_request_set_helo_dom(r, SPF_HELO) == SPF_E_SUCCESS &&
	    SPF_request_set_env_from(r, SPF_SENDER) == 0) {
		SPF_request_query_mailfrom(r, &resp);
		pass = resp != NULL &&
		    SPF_response_result(resp) == SPF_RESULT_PASS;
	}
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(r);
	return pass;
}
#endif

/* ------------------------------------------------------------------ */
/* One operation of each library.                                     */

static char *
dk_sign(struct bench *b, const struct msg *m, enum dkk_canon c, bool ed)
{
	struct dkk_sign_opts o;
	dkk_signer *s;
	char *field = NULL;

	memset(&o, 0, sizeof(o));
	o.key = ed ? b->ed : b->rsa;
	o.domain = DOMAIN;
	o.selector = ed ? SEL_ED : SEL_RSA;
	o.header_canon = o.body_canon = c;
	if (dkk_signer_new(b->ctx, &o, &s) != DKK_OK)
		return NULL;
	if (dkk_signer_update(s, m->p, m->len) != DKK_OK ||
	    dkk_signer_final(s, 0, &field) != DKK_OK)
		field = NULL;
	dkk_signer_free(s);
	return field;
}

/* A verifier over len bytes handed out by next(); pass or not. */
static bool
dk_verify_stream(struct bench *b, size_t (*next)(void *, const char **),
    void *arg)
{
	dkk_verifier *v;
	const char *p;
	size_t n;
	bool ok = true;

	if (dkk_verifier_new(b->ctx, NULL, &v) != DKK_OK)
		return false;
	while (ok && (n = next(arg, &p)) > 0)
		ok = dkk_verifier_update(v, p, n) == DKK_OK;
	ok = ok && dkk_verifier_wait(v) == DKK_OK &&
	    dkk_verifier_verdict(v) == DKK_PASS;
	dkk_verifier_free(v);
	return ok;
}

static size_t
msg_next(void *arg, const char **p)
{
	struct msg *m = arg;
	size_t n = m->len;

	*p = m->p;
	m->p += n;
	m->len = 0;
	return n;
}

static bool
dk_verify(struct bench *b, const struct msg *m)
{
	struct msg once = *m;

	return dk_verify_stream(b, msg_next, &once);
}

/* One SPF evaluation from the zone: pass or not. */
static bool
dk_spf(struct bench *b)
{
	const struct dkk_spf_query q = { SPF_CLIENT, SPF_HELO, SPF_SENDER,
	    NULL };
	dkk_spf *spf;
	bool pass;

	if (dkk_spf_new(b->ctx, &q, &spf) != DKK_OK)
		return false;
	pass = dkk_spf_wait(spf) == DKK_OK &&
	    dkk_spf_result(spf) == DKK_SPF_PASS;
	dkk_spf_free(spf);
	return pass;
}

static char *
od_sign(struct bench *b, const struct msg *m, enum dkk_canon c)
{
	dkim_canon_t oc = c == DKK_CANON_RELAXED ? DKIM_CANON_RELAXED :
	    DKIM_CANON_SIMPLE;
	DKIM_STAT st;
	DKIM *d;
	u_char *hdr;
	size_t hlen;
	char *field = NULL;

	d = dkim_sign(b->od, (const u_char *)"bench", NULL,
	    (dkim_sigkey_t)b->rsa_pem, (const u_char *)SEL_RSA,
	    (const u_char *)DOMAIN, oc, oc, DKIM_SIGN_RSASHA256, -1, &st);
	if (d == NULL)
		return NULL;
	if (dkim_chunk(d, (u_char *)m->p, m->len) == DKIM_STAT_OK &&
	    dkim_chunk(d, NULL, 0) == DKIM_STAT_OK &&
	    dkim_eom(d, NULL) == DKIM_STAT_OK &&
	    dkim_getsighdr_d(d, strlen(DKIM_SIGNHEADER ": "), &hdr, &hlen) ==
	    DKIM_STAT_OK && (field = malloc(hlen + 17)) != NULL)
		snprintf(field, hlen + 17, DKIM_SIGNHEADER ": %.*s", (int)hlen,
		    (const char *)hdr);
	dkim_free(d);
	return field;
}

static bool
od_verify_stream(struct bench *b, size_t (*next)(void *, const char **),
    void *arg)
{
	DKIM_SIGINFO *sig;
	DKIM_STAT st;
	DKIM *d;
	const char *p;
	size_t n;
	bool ok = true;

	if ((d = dkim_verify(b->od, (const u_char *)"bench", NULL, &st)) ==
	    NULL)
		return false;
	while (ok && (n = next(arg, &p)) > 0)
		ok = dkim_chunk(d, (u_char *)p, n) == DKIM_STAT_OK;
	ok = ok && dkim_chunk(d, NULL, 0) == DKIM_STAT_OK &&
	    dkim_eom(d, NULL) == DKIM_STAT_OK &&
	    (sig = dkim_getsignature(d)) != NULL && DKIM_SIG_CHECK(sig);
	dkim_free(d);
	return ok;
}

static bool
od_verify(struct bench *b, const struct msg *m)
{
	struct msg once = *m;

	return od_verify_stream(b, msg_next, &once);
}

/* The attacker's message (issue #27): one good signature of the 2 KB
 * message copied as often as the default header limit (4 MiB) allows.
 * Every copy parses and passes, so both libraries do their whole work:
 * dkimkit evaluates 16 and lists the rest as not evaluated, libopendkim
 * what its own defaults make it.  What is timed is the whole verdict,
 * the Authentication-Results field included for dkimkit (where the
 * quadratic work was) and the signature list for libopendkim. */
#define WORST_BYTES	(4 * 1024 * 1024 - 4096)

static void
msg_worst(struct msg *m, const struct msg *signed_msg, size_t max)
{
	const char *end = strstr(signed_msg->p, "\r\n");
	size_t fl, copies, i;

	/* the field is the first line and its folded continuations */
	while (end != NULL && (end[2] == ' ' || end[2] == '\t'))
		end = strstr(end + 2, "\r\n");
	fl = (size_t)(end + 2 - signed_msg->p);
	copies = (max - signed_msg->len) / fl;
	m->len = fl * copies + signed_msg->len;
	m->p = xmalloc(m->len);
	for (i = 0; i < copies; i++)
		memcpy(m->p + i * fl, signed_msg->p, fl);
	memcpy(m->p + copies * fl, signed_msg->p, signed_msg->len);
}

static bool
dk_worst(struct bench *b, const struct msg *m)
{
	dkk_verifier *v;
	char *ar = NULL;
	bool ok;

	if (dkk_verifier_new(b->ctx, NULL, &v) != DKK_OK)
		return false;
	ok = dkk_verifier_update(v, m->p, m->len) == DKK_OK &&
	    dkk_verifier_wait(v) == DKK_OK &&
	    dkk_verifier_ar(v, "mx.bench.example", 0, &ar) == DKK_OK;
	free(ar);
	dkk_verifier_free(v);
	return ok;
}

static bool
od_worst(struct bench *b, const struct msg *m)
{
	DKIM_SIGINFO **sigs;
	DKIM_STAT st;
	DKIM *d;
	int nsigs;

	if ((d = dkim_verify(b->od, (const u_char *)"bench", NULL, &st)) ==
	    NULL)
		return false;
	st = dkim_chunk(d, (u_char *)m->p, m->len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	if (st == DKIM_STAT_OK)
		st = dkim_getsiglist(d, &sigs, &nsigs);
	dkim_free(d);
	return st == DKIM_STAT_OK;
}

/* ------------------------------------------------------------------ */
/* Rows: what is timed, and the rates of each round.                  */

enum op { OP_SIGN, OP_VERIFY, OP_WORST, OP_POLICY, OP_NETTLE_SIGN,
    OP_NETTLE_VERIFY, OP_NETTLE_SHA256, OP_NETTLE_SHA256_MEM, OP_SPF };

/* The Nettle rows: a table of their own. */
static bool
op_floor(enum op op)
{
	return op >= OP_NETTLE_SIGN && op <= OP_NETTLE_SHA256_MEM;
}

/* LIB_OD's column: libspf2 in the SPF row, libopendkim elsewhere. */
static const char *
peer_name(enum op op)
{
	return op == OP_SPF ? "libspf2" : "libopendkim";
}

/* The SHA-256 floor hashes 10 MB as blocks of this size, one block over
 * and over, in cache: the rate of the hash itself, which is what dkimkit
 * gets from its 16 KiB output buffer (BODY_OUT in core/internal.h, which
 * the bench, a user of the public API only, cannot see).  Hashing the
 * 10 MB buffer itself, from memory, is a row of its own; on some machines
 * it is a third slower, too low a floor. */
#define SHA_BLOCK	16384

struct row {
	char name[64];
	enum op op;
	const struct msg *plain;	/* what signers get */
	struct msg signed_msg;		/* what verifiers get (dkimkit's) */
	enum dkk_canon canon;
	bool ed;
	bool both;			/* libopendkim too */
	bool per_mb;			/* MB/s rather than messages/s */
	struct ptest *pt;		/* OP_POLICY: the policy decided on */
	long reps[NLIB];
	double rate[NLIB][MAX_ROUNDS];
	double median[NLIB];
};

/* The raw Nettle floor: an RSA-2048 key of its own, generated here. */
struct floor {
	struct rsa_public_key pub;
	struct rsa_private_key priv;
	uint8_t digest[SHA256_DIGEST_SIZE];
	mpz_t sig;
	const struct msg *big;
};

static struct floor nettle;

static void
rnd(void *ctx, size_t len, uint8_t *dst)
{
	ssize_t n;

	(void)ctx;
	while (len > 0) {
		if ((n = getrandom(dst, len, 0)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			die("getrandom", DKK_ECRYPTO);
		}
		dst += n;
		len -= (size_t)n;
	}
}

static void
floor_init(struct floor *f, const struct msg *big)
{
	rsa_public_key_init(&f->pub);
	rsa_private_key_init(&f->priv);
	mpz_set_ui(f->pub.e, 65537);
	if (!rsa_generate_keypair(&f->pub, &f->priv, NULL, rnd, NULL, NULL,
	    2048, 0))
		die("Nettle RSA-2048 key", DKK_ECRYPTO);
	memset(f->digest, 0x5a, sizeof(f->digest));
	mpz_init(f->sig);
	if (!rsa_sha256_sign_digest_tr(&f->pub, &f->priv, NULL, rnd,
	    f->digest, f->sig))
		die("Nettle RSA sign", DKK_ECRYPTO);
	f->big = big;
}

/* The floor's block: SHA_BLOCK, or less for --tiny's small message. */
static size_t
sha_block(const struct floor *f)
{
	return f->big->len < SHA_BLOCK ? f->big->len : SHA_BLOCK;
}

static bool
floor_run(struct floor *f, enum op op)
{
	struct sha256_ctx h;
	uint8_t d[SHA256_DIGEST_SIZE];
	size_t blk = sha_block(f), i;
	mpz_t s;
	int ok;

	switch (op) {
	case OP_NETTLE_SIGN:
		mpz_init(s);
		ok = rsa_sha256_sign_digest_tr(&f->pub, &f->priv, NULL, rnd,
		    f->digest, s);
		mpz_clear(s);
		return ok;
	case OP_NETTLE_VERIFY:
		return rsa_sha256_verify_digest(&f->pub, f->digest, f->sig);
	case OP_NETTLE_SHA256:
		sha256_init(&h);
		for (i = 0; i + blk <= f->big->len; i += blk)
			sha256_update(&h, blk, (const uint8_t *)f->big->p);
		sha256_digest(&h, sizeof(d), d);
		return true;
	default:
		sha256_init(&h);
		sha256_update(&h, f->big->len, (const uint8_t *)f->big->p);
		sha256_digest(&h, sizeof(d), d);
		return true;
	}
}

/* ------------------------------------------------------------------ */
/* The signing policy's decision (issue 19): SigningTables of 10 and of
 * 100,000 lines, exact domains in a file: table, or "*@domain" lines in
 * a refile: table (Debian's way) between a pattern above them and one
 * below: each decision is answered by its domain's line, after the
 * pattern above it is tried.                                          */

#define POLICY_FROMS 1024

struct ptest {
	dkk_ctx *ctx;
	dkk_policy *p;
	size_t lines;
	bool refile;
	char from[POLICY_FROMS][48];
	size_t next;
};

static struct ptest ptests[4];

static void
ptest_write(const char *path, const char *text, size_t lines, bool refile)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (f == NULL)
		die(path, DKK_EIO);
	if (text != NULL)
		fputs(text, f);
	for (i = 0; text == NULL && i < lines; i++)
		if (refile && (i == 0 || i == lines - 1))
			fputs(i == 0 ? "*@*.invalid k\n" : "*@* k\n", f);
		else
			fprintf(f, "%sd%zu.example k\n", refile ? "*@" : "",
			    i);
	if (fclose(f) != 0)
		die(path, DKK_EIO);
}

static void
ptest_setup(struct bench *b, struct ptest *t, size_t lines, bool refile)
{
	char table[128], conf[128], text[256];
	size_t i, first = refile ? 1 : 0, exact = refile ? lines - 2 : lines;
	int rc;

	snprintf(table, sizeof(table), "%s/SigningTable", b->dir);
	snprintf(conf, sizeof(conf), "%s/opendkim.conf", b->dir);
	snprintf(text, sizeof(text), "SigningTable %s%s\nKeyTable "
	    "csl:k=%%:s:/k.pem\n", refile ? "refile:" : "", table);
	ptest_write(table, NULL, lines, refile);
	ptest_write(conf, text, 0, false);
	if ((rc = dkk_ctx_new(&t->ctx)) != DKK_OK ||
	    (rc = dkk_policy_new(t->ctx, conf, &t->p)) != DKK_OK)
		die("policy", rc);
	unlink(table);
	unlink(conf);
	t->lines = lines;
	t->refile = refile;
	for (i = 0; i < POLICY_FROMS; i++)
		snprintf(t->from[i], sizeof(t->from[i]), "u%zu@d%zu.example",
		    i, first + (i * 7919) % exact);
}

/* One decision: signed, by the exact line of the author's domain. */
static bool
ptest_run(struct ptest *t)
{
	struct dkk_policy_client c = { NULL, "127.0.0.1", NULL, NULL };
	struct dkk_decision d;
	const char *at = strchr(t->from[t->next], '@'), *line;
	bool ok;

	c.from = t->from[t->next];
	t->next = (t->next + 1) % POLICY_FROMS;
	if (dkk_policy_decide(t->p, &c, &d) != DKK_OK)
		return false;
	line = d.nsigs == 1 ? strrchr(d.sigs[0].signing_line, ':') : NULL;
	ok = d.sign && line != NULL && strtoul(line + 1, NULL, 10) ==
	    strtoul(at + 2, NULL, 10) + 1 && strcmp(d.sigs[0].domain, at + 1) ==
	    0;
	dkk_decision_clear(&d);
	return ok;
}

static void
ptests_free(void)
{
	size_t i;

	for (i = 0; i < NELEM(ptests); i++) {
		dkk_policy_free(ptests[i].p);
		dkk_ctx_free(ptests[i].ctx);
	}
}

static bool
row_run(struct bench *b, struct row *r, enum lib lib)
{
	char *field;

	switch (r->op) {
	case OP_SIGN:
		field = lib == LIB_DK ? dk_sign(b, r->plain, r->canon, r->ed) :
		    od_sign(b, r->plain, r->canon);
		free(field);
		return field != NULL;
	case OP_VERIFY:
		return lib == LIB_DK ? dk_verify(b, &r->signed_msg) :
		    od_verify(b, &r->signed_msg);
	case OP_WORST:
		return lib == LIB_DK ? dk_worst(b, &r->signed_msg) :
		    od_worst(b, &r->signed_msg);
	case OP_SPF:
#ifdef HAVE_LIBSPF2
		if (lib == LIB_OD)
			return spf2_check(b);
#endif
		return dk_spf(b);
	case OP_POLICY:
		return ptest_run(r->pt);
	default:
		return floor_run(&nettle, r->op);
	}
}

static double
clock_seconds(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall time: for the filter, another process. */
static double
now_seconds(void)
{
	return clock_seconds(CLOCK_MONOTONIC);
}

/* CPU time of this process: on a machine shared with other work, time
 * spent waiting for a CPU is not the library's. */
static double
cpu_seconds(void)
{
	return clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
}

static double
row_bytes(const struct row *r)
{
	if (r->op == OP_NETTLE_SHA256)
		return (double)(nettle.big->len / sha_block(&nettle) *
		    sha_block(&nettle));
	if (r->op == OP_NETTLE_SHA256_MEM)
		return (double)nettle.big->len;
	return (double)(r->op == OP_VERIFY ? r->signed_msg.len :
	    r->plain->len);
}

/* Time reps operations; the rate in messages (or MB) per second. */
static double
row_time(struct bench *b, struct row *r, enum lib lib, long reps)
{
	double t0, t;
	long i;

	t0 = cpu_seconds();
	for (i = 0; i < reps; i++)
		if (!row_run(b, r, lib)) {
			fprintf(stderr, "bench: %s: %s: verdict is not pass\n",
			    r->name, lib == LIB_DK ? "dkimkit" :
			    peer_name(r->op));
			b->failures++;
			break;
		}
	t = cpu_seconds() - t0;
	if (t <= 0)
		t = 1e-9;
	return (double)reps / t * (r->per_mb ? row_bytes(r) / MIB : 1.0);
}

/* Repetitions per round: enough for ROUND_SECONDS, from one warm-up. */
static void
row_calibrate(struct bench *b, struct row *r, enum lib lib)
{
	double rate, per_op;

	if (b->tiny) {
		r->reps[lib] = 1;
		return;
	}
	rate = row_time(b, r, lib, 1);
	per_op = r->per_mb ? row_bytes(r) / MIB / rate : 1.0 / rate;
	r->reps[lib] = (long)ceil(ROUND_SECONDS / per_op);
	if (r->reps[lib] < 1)
		r->reps[lib] = 1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define MEDIAN_MAX 64

static double
median(const double *v, int n)
{
	double s[MEDIAN_MAX];

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Interleaved: round after round, every row and both libraries. */
static void
rows_measure(struct bench *b, struct row *rows, size_t n)
{
	size_t i;
	int round, lib;

	for (i = 0; i < n; i++)
		for (lib = 0; lib < (rows[i].both ? NLIB : 1); lib++)
			row_calibrate(b, &rows[i], (enum lib)lib);
	for (round = 0; round < b->rounds; round++) {
		for (i = 0; i < n; i++)
			for (lib = 0; lib < (rows[i].both ? NLIB : 1); lib++)
				rows[i].rate[lib][round] = row_time(b, &rows[i],
				    (enum lib)lib, rows[i].reps[lib]);
		fprintf(stderr, "bench: round %d of %d done\n", round + 1,
		    b->rounds);
	}
	for (i = 0; i < n; i++)
		for (lib = 0; lib < (rows[i].both ? NLIB : 1); lib++)
			rows[i].median[lib] = median(rows[i].rate[lib],
			    b->rounds);
}

/* ------------------------------------------------------------------ */
/* The messages and their rows.                                       */

struct corpus {
	const char *label;
	enum kind kind;
	uint64_t body;		/* full size */
	uint64_t tiny;		/* --tiny size */
	struct msg m;
};

static struct corpus corpora[] = {
	{ "2 KB text", TEXT, 1700, 300, { NULL, 0 } },
	{ "100 KB base64", B64, 100 * 1024, 1024, { NULL, 0 } },
	{ "10 MB text", TEXT, 10 * 1024 * 1024, 4096, { NULL, 0 } },
	{ "10 MB base64", B64, 10 * 1024 * 1024, 4096, { NULL, 0 } }
};

#define NCORPORA NELEM(corpora)

static const char *
canon_name(enum dkk_canon c)
{
	return c == DKK_CANON_RELAXED ? "relaxed" : "simple";
}

static struct row *
row_add(struct row *rows, size_t *n, enum op op, struct corpus *c,
    enum dkk_canon canon, bool ed)
{
	struct row *r = &rows[(*n)++];

	memset(r, 0, sizeof(*r));
	r->op = op;
	r->plain = c != NULL ? &c->m : NULL;
	r->canon = canon;
	r->ed = ed;
	r->both = !ed && (op == OP_SIGN || op == OP_VERIFY);
	r->per_mb = c != NULL && c->body >= 1024 * 1024;
	if (c != NULL)
		snprintf(r->name, sizeof(r->name), "%s %s, %s/%s%s",
		    op == OP_SIGN ? "sign" : "verify", c->label,
		    canon_name(canon), canon_name(canon),
		    ed ? ", ed25519" : "");
	return r;
}

/* The message the verifiers get: signed by dkimkit. */
static void
row_sign_input(struct bench *b, struct row *r)
{
	char *field = dk_sign(b, r->plain, r->canon, r->ed);

	if (field == NULL)
		die(r->name, DKK_ECRYPTO);
	msg_prepend(&r->signed_msg, field, r->plain);
	free(field);
}

static size_t
rows_build(struct bench *b, struct row *rows)
{
	struct row *r;
	size_t n = 0, i;
	int c, op;

	for (i = 0; i < NCORPORA; i++)
		for (op = OP_SIGN; op <= OP_VERIFY; op++)
			for (c = DKK_CANON_RELAXED; c >= DKK_CANON_SIMPLE; c--)
				row_add(rows, &n, (enum op)op, &corpora[i],
				    (enum dkk_canon)c, false);
	for (i = 0; i < NCORPORA; i++)
		for (op = OP_SIGN; op <= OP_VERIFY; op++)
			row_add(rows, &n, (enum op)op, &corpora[i],
			    DKK_CANON_RELAXED, true);
	for (i = 0; i < n; i++)
		if (rows[i].op == OP_VERIFY)
			row_sign_input(b, &rows[i]);
	for (i = 0; rows[i].op != OP_VERIFY; i++)
		;	/* the first: 2 KB text, relaxed */
	r = row_add(rows, &n, OP_WORST, NULL, 0, false);
	r->both = true;
	msg_worst(&r->signed_msg, &rows[i].signed_msg, b->tiny ? 65536 :
	    WORST_BYTES);
	snprintf(r->name, sizeof(r->name), "verify %s of one signature copied "
	    "(attacker)", b->tiny ? "64 KB" : "4 MiB");
	for (i = 0; i < NELEM(ptests); i++) {
		ptest_setup(b, &ptests[i], i % 2 ? 100000 : 10, i >= 2);
		r = row_add(rows, &n, OP_POLICY, NULL, 0, false);
		r->pt = &ptests[i];
		snprintf(r->name, sizeof(r->name), "policy decision, %zu-line "
		    "%s SigningTable", ptests[i].lines, i >= 2 ? "refile:" :
		    "file:");
	}
	for (op = OP_NETTLE_SIGN; op <= OP_NETTLE_SHA256_MEM; op++) {
		r = row_add(rows, &n, (enum op)op, NULL, 0, false);

		r->per_mb = op >= OP_NETTLE_SHA256;
		snprintf(r->name, sizeof(r->name), "%s",
		    op == OP_NETTLE_SIGN ? "Nettle rsa_sha256_sign_digest_tr" :
		    op == OP_NETTLE_VERIFY ? "Nettle rsa_sha256_verify_digest" :
		    op == OP_NETTLE_SHA256 ?
		    "Nettle sha256_update, 10 MB in 16 KiB (cached)" :
		    "Nettle sha256_update, 10 MB buffer (memory)");
	}
	r = row_add(rows, &n, OP_SPF, NULL, 0, false);
#ifdef HAVE_LIBSPF2
	r->both = true;
#endif
	snprintf(r->name, sizeof(r->name), "SPF check_host, include + a + mx, "
	    "zone");
	return n;
}

/* Each library verifies what the other signed: the harness's own check. */
static void
cross_check(struct bench *b)
{
	struct msg sm;
	size_t i;
	int c;
	char *field;

	for (i = 0; i < NCORPORA; i++)
		for (c = DKK_CANON_SIMPLE; c <= DKK_CANON_RELAXED; c++) {
			field = od_sign(b, &corpora[i].m, (enum dkk_canon)c);
			if (field == NULL) {
				fprintf(stderr, "bench: libopendkim cannot "
				    "sign %s\n", corpora[i].label);
				b->failures++;
				continue;
			}
			msg_prepend(&sm, field, &corpora[i].m);
			if (!dk_verify(b, &sm) || !od_verify(b, &sm)) {
				fprintf(stderr, "bench: %s, %s, signed by "
				    "libopendkim: not pass (dkimkit %d, "
				    "libopendkim %d)\n", corpora[i].label,
				    canon_name((enum dkk_canon)c),
				    dk_verify(b, &sm), od_verify(b, &sm));
				b->failures++;
			}
			free(sm.p);
			free(field);
		}
}

/* ------------------------------------------------------------------ */
/* Peak RSS of a child verifying a streamed, generated message.       */

struct stream {
	struct gen g;
	const char *field;	/* DKIM-Signature field, sent first */
	char *buf;
};

static size_t
stream_next(void *arg, const char **p)
{
	struct stream *s = arg;
	size_t n = 0;

	if (s->field != NULL) {
		n = (size_t)snprintf(s->buf, CHUNK, "%s\r\n", s->field);
		s->field = NULL;
	}
	n += gen_read(&s->g, s->buf + n, CHUNK - n);
	*p = s->buf;
	return n;
}

static char *
stream_sign(struct bench *b, uint64_t size)
{
	struct dkk_sign_opts o;
	struct stream s;
	dkk_signer *sg;
	const char *p;
	char *field = NULL;
	size_t n;

	memset(&o, 0, sizeof(o));
	o.key = b->rsa;
	o.domain = DOMAIN;
	o.selector = SEL_RSA;
	o.header_canon = o.body_canon = DKK_CANON_RELAXED;
	gen_init(&s.g, TEXT, size);
	s.field = NULL;
	s.buf = xmalloc(CHUNK);
	if (dkk_signer_new(b->ctx, &o, &sg) != DKK_OK)
		die("signer", DKK_ENOMEM);
	while ((n = stream_next(&s, &p)) > 0)
		if (dkk_signer_update(sg, p, n) != DKK_OK)
			die("streamed signing", DKK_EIO);
	if (dkk_signer_final(sg, 0, &field) != DKK_OK)
		die("streamed signing", DKK_EIO);
	dkk_signer_free(sg);
	free(s.buf);
	return field;
}

/* Peak RSS in KiB of a child that verifies; -1 when it did not pass. */
static long
rss_child(struct bench *b, enum lib lib, uint64_t size, const char *field)
{
	struct stream s;
	struct rusage ru;
	pid_t pid;
	int st;
	bool ok;

	fflush(NULL);
	if ((pid = fork()) < 0)
		die("fork", DKK_EIO);
	if (pid == 0) {
		if (field == NULL)
			_exit(0);
		gen_init(&s.g, TEXT, size);
		s.field = field;
		s.buf = xmalloc(CHUNK);
		ok = lib == LIB_DK ? dk_verify_stream(b, stream_next, &s) :
		    od_verify_stream(b, stream_next, &s);
		_exit(ok ? 0 : 3);
	}
	if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return -1;
	return ru.ru_maxrss;
}

struct rss {
	uint64_t size;
	long kb[NLIB];
};

static long rss_base;

static void
rss_measure(struct bench *b, struct rss *r, size_t n)
{
	size_t i;
	int lib;
	char *field;

	rss_base = rss_child(b, LIB_DK, 0, NULL);
	for (i = 0; i < n; i++) {
		field = stream_sign(b, r[i].size);
		for (lib = 0; lib < NLIB; lib++) {
			r[i].kb[lib] = rss_child(b, (enum lib)lib, r[i].size,
			    field);
			if (r[i].kb[lib] < 0) {
				fprintf(stderr, "bench: RSS of %llu bytes: %s "
				    "did not pass\n",
				    (unsigned long long)r[i].size,
				    lib == LIB_DK ? "dkimkit" : "libopendkim");
				b->failures++;
			}
		}
		free(field);
	}
}

/* ------------------------------------------------------------------ */
/* End-to-end verify latency through filter-dkimkit.                  */

struct filt {
	pid_t pid;
	int in;			/* we write */
	int out;		/* we read */
	char buf[65536];
	size_t len;
};

static int
filt_start(struct bench *b, struct filt *f)
{
	int to[2], from[2];

	if (pipe(to) != 0 || pipe(from) != 0)
		return -1;
	fflush(NULL);
	if ((f->pid = fork()) < 0)
		return -1;
	if (f->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(to[0], 0);
		dup2(from[1], 1);
		if (null >= 0)
			dup2(null, 2);	/* one log line per message */
		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		execl(b->filter, b->filter, "-m", "verify", "-i",
		    "mx.bench.example", "-z", b->zone, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	f->in = to[1];
	f->out = from[0];
	f->len = 0;
	return 0;
}

/* Write all of out while reading lines; stop at a line equal to want. */
static int
filt_talk(struct filt *f, const char *out, size_t olen, const char *want)
{
	struct pollfd pf[2];
	size_t wl = strlen(want);
	char *nl;
	ssize_t n;

	for (;;) {
		while ((nl = memchr(f->buf, '\n', f->len)) != NULL) {
			size_t ll = (size_t)(nl - f->buf);
			bool hit = ll == wl && memcmp(f->buf, want, wl) == 0;

			memmove(f->buf, nl + 1, f->len - ll - 1);
			f->len -= ll + 1;
			if (hit && olen == 0)
				return 0;
		}
		pf[0].fd = f->out;
		pf[0].events = POLLIN;
		pf[1].fd = f->in;
		pf[1].events = olen > 0 ? POLLOUT : 0;
		if (poll(pf, 2, 10000) <= 0)
			return -1;
		if (olen > 0 && (pf[1].revents & (POLLOUT | POLLERR))) {
			if ((n = write(f->in, out, olen)) < 0)
				return -1;
			out += n;
			olen -= (size_t)n;
		}
		if (pf[0].revents & (POLLIN | POLLHUP)) {
			if (f->len == sizeof(f->buf))
				f->len = 0;	/* a long line we do not want */
			n = read(f->out, f->buf + f->len,
			    sizeof(f->buf) - f->len);
			if (n <= 0)
				return -1;
			f->len += (size_t)n;
		}
	}
}

static void
filt_stop(struct filt *f)
{
	int st;

	close(f->in);
	close(f->out);
	waitpid(f->pid, &st, 0);
}

/* The data-line requests for a message, dot-escaped, then the dot. */
static char *
filt_request(const struct msg *m, const char *sid, size_t *len)
{
	static const char pre[] = "filter|0.6|1.0|smtp-in|data-line|";
	char *out, *o;
	const char *p = m->p, *end = m->p + m->len, *eol;
	size_t lines = 1;

	for (eol = p; (eol = memchr(eol, '\n', (size_t)(end - eol))) != NULL;
	    eol++)
		lines++;
	/* Each line: the request prefix, the session, the token, a dot. */
	out = o = xmalloc(m->len + lines * (sizeof(pre) + 40) + 100);
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		eol = eol != NULL ? eol : end;
		o += sprintf(o, "%s%s|00000000000000b0|%s", pre, sid,
		    *p == '.' ? "." : "");
		memcpy(o, p, (size_t)(eol - p) - (eol > p && eol[-1] == '\r'));
		o += (size_t)(eol - p) - (eol > p && eol[-1] == '\r');
		*o++ = '\n';
		p = eol + 1;
	}
	o += sprintf(o, "%s%s|00000000000000b0|.\n", pre, sid);
	*len = (size_t)(o - out);
	return out;
}

static const char filt_hs[] =
    "config|smtpd-version|6.8.0p2\n"
    "config|smtp-session-timeout|300\n"
    "config|subsystem|smtp-in\n"
    "config|admd|mx.bench.example\n"
    "config|ready\n";

struct latency {
	const struct row *row;	/* its signed_msg goes through */
	double ms[MAX_ROUNDS];
	double median;
	bool ok;
};

/* One message, new session: milliseconds to its final dot, or -1. */
static double
filt_one(struct filt *f, const struct msg *m, unsigned i)
{
	char sid[17], want[64], bye[96], *req;
	size_t len;
	double t0, t;
	int rc;

	snprintf(sid, sizeof(sid), "%016x", 0xb000u + i);
	snprintf(want, sizeof(want), "filter-dataline|%s|00000000000000b0|.",
	    sid);
	req = filt_request(m, sid, &len);
	t0 = now_seconds();
	rc = filt_talk(f, req, len, want);
	t = (now_seconds() - t0) * 1000;
	free(req);
	snprintf(bye, sizeof(bye),
	    "report|0.6|1.0|smtp-in|link-disconnect|%s\n", sid);
	if (rc != 0 || write(f->in, bye, strlen(bye)) < 0)
		return -1;
	return t;
}

static void
latency_measure(struct bench *b, struct latency *l, size_t n)
{
	struct filt f;
	double one[MEDIAN_MAX];
	unsigned seq = 0;
	int round, reps = b->tiny ? 1 : 20, k;
	size_t i;

	if (filt_start(b, &f) != 0 ||
	    filt_talk(&f, filt_hs, strlen(filt_hs), "register|ready") != 0) {
		fprintf(stderr, "bench: %s does not start\n", b->filter);
		b->failures++;
		return;
	}
	for (round = 0; round < b->rounds; round++)
		for (i = 0; i < n; i++) {
			for (k = 0; k < reps; k++)
				if ((one[k] = filt_one(&f, &l[i].row->signed_msg,
				    seq++)) < 0) {
					fprintf(stderr, "bench: filter: no "
					    "answer\n");
					b->failures++;
					filt_stop(&f);
					return;
				}
			l[i].ms[round] = median(one, reps);
			l[i].ok = true;
		}
	for (i = 0; i < n; i++)
		l[i].median = median(l[i].ms, b->rounds);
	filt_stop(&f);
}

/* ------------------------------------------------------------------ */
/* The report.                                                        */

static const struct row *
row_find(const struct row *rows, size_t n, enum op op, const char *label,
    enum dkk_canon c, bool ed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].op == op && rows[i].canon == c && rows[i].ed == ed &&
		    (label == NULL || ((rows[i].plain != NULL ||
		    op == OP_POLICY) && strstr(rows[i].name, label) != NULL)))
			return &rows[i];
	return NULL;
}

static void
fmt_rate(char *out, size_t len, double v)
{
	if (v >= 100)
		snprintf(out, len, "%.0f", v);
	else if (v >= 10)
		snprintf(out, len, "%.1f", v);
	else
		snprintf(out, len, "%.2f", v);
}

/* The SPF row: dkimkit against libspf2, when it was built in. */
static void
report_spf(FILE *f, const struct row *rows, size_t n)
{
	char a[32], o[32];
	size_t i;

	for (i = 0; i < n && rows[i].op != OP_SPF; i++)
		;
	if (i == n)
		return;
	fmt_rate(a, sizeof(a), rows[i].median[LIB_DK]);
	fprintf(f, "\nSPF (RFC 7208) from a zone file: dkimkit's zone "
	    "resolver against libspf2's SPF_dns_zone layer, the same "
	    "records; one evaluation is a fresh request for %s from "
	    "%s:\n\n| operation | unit | dkimkit | libspf2 | "
	    "dkimkit / libspf2 |\n|---|---|---:|---:|---:|\n",
	    SPF_SENDER, SPF_CLIENT);
	if (rows[i].both) {
		fmt_rate(o, sizeof(o), rows[i].median[LIB_OD]);
		fprintf(f, "| %s | eval/s | %s | %s | %.2f |\n", rows[i].name,
		    a, o, rows[i].median[LIB_DK] / rows[i].median[LIB_OD]);
	} else
		fprintf(f, "| %s | eval/s | %s | - (libspf2-dev missing at "
		    "configure time) | - |\n", rows[i].name, a);
}

static void
report_rows(FILE *f, const struct row *rows, size_t n)
{
	char a[32], o[32];
	size_t i;

	fprintf(f, "| operation | unit | dkimkit | libopendkim | "
	    "dkimkit / libopendkim |\n|---|---|---:|---:|---:|\n");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		if (r->op >= OP_NETTLE_SIGN)
			continue;
		fmt_rate(a, sizeof(a), r->median[LIB_DK]);
		fmt_rate(o, sizeof(o), r->median[LIB_OD]);
		if (r->both)
			fprintf(f, "| %s | %s | %s | %s | %.2f |\n", r->name,
			    r->per_mb ? "MB/s" : "msg/s", a, o,
			    r->median[LIB_DK] / r->median[LIB_OD]);
		else
			fprintf(f, "| %s | %s | %s | - | - |\n", r->name,
			    r->per_mb ? "MB/s" : "msg/s", a);
	}
	report_spf(f, rows, n);
	fprintf(f, "\nRaw Nettle, the floor:\n\n| primitive | unit | rate |\n"
	    "|---|---|---:|\n");
	for (i = 0; i < n; i++)
		if (op_floor(rows[i].op)) {
			fmt_rate(a, sizeof(a), rows[i].median[LIB_DK]);
			fprintf(f, "| %s | %s | %s |\n", rows[i].name,
			    rows[i].per_mb ? "MB/s" : "op/s", a);
		}
}

static void
report_rss(FILE *f, const struct rss *r, size_t n)
{
	size_t i;

	fprintf(f, "\nPeak RSS of a child verifying a message streamed in "
	    "64 KiB chunks (a child that verifies nothing: %ld KiB):\n\n"
	    "| message | dkimkit | libopendkim | dkimkit / libopendkim |\n"
	    "|---|---:|---:|---:|\n", rss_base);
	for (i = 0; i < n; i++)
		fprintf(f, "| %g %s text | %.1f MB | %.1f MB | %.2f |\n",
		    r[i].size >= 1 << 20 ? (double)r[i].size / MIB :
		    (double)r[i].size / 1024, r[i].size >= 1 << 20 ? "MB" : "KB",
		    (double)r[i].kb[LIB_DK] / 1024,
		    (double)r[i].kb[LIB_OD] / 1024,
		    (double)r[i].kb[LIB_DK] / (double)r[i].kb[LIB_OD]);
}

static void
report_latency(FILE *f, const struct latency *l, size_t n, bool ran)
{
	size_t i;

	if (!ran) {
		fprintf(f, "\nfilter-dkimkit latency: not measured (no "
		    "filter binary).\n");
		return;
	}
	fprintf(f, "\nEnd-to-end verify latency through filter-dkimkit "
	    "(filter protocol on its stdin/stdout, key from a zone file; "
	    "first data-line written to final dot read; median):\n\n"
	    "| message | latency |\n|---|---:|\n");
	for (i = 0; i < n; i++)
		if (l[i].ok)
			fprintf(f, "| %s | %.3f ms |\n", l[i].row->name,
			    l[i].median);
		else
			fprintf(f, "| %s | no answer |\n", l[i].row->name);
}

struct target {
	const char *what;
	double got;
	double want;
	const char *unit;
};

static void
target_line(FILE *f, const struct target *t, bool below)
{
	bool hold = below ? t->got < t->want : t->got >= t->want;

	fprintf(f, "| %s | %.2f%s | %s %.2f%s | %s |\n", t->what, t->got,
	    t->unit, below ? "<" : ">=", t->want, t->unit,
	    hold ? "holds" : "MISSED");
}

static double
ratio(const struct row *r)
{
	return r->median[LIB_DK] / r->median[LIB_OD];
}

static void
report_targets(FILE *f, const struct row *rows, size_t n,
    const struct rss *rss, size_t nrss)
{
	const struct row *v2 = row_find(rows, n, OP_VERIFY, "2 KB",
	    DKK_CANON_RELAXED, false);
	const struct row *s2 = row_find(rows, n, OP_SIGN, "2 KB",
	    DKK_CANON_RELAXED, false);
	const struct row *rs = row_find(rows, n, OP_NETTLE_SIGN, NULL, 0, 0);
	const struct row *sh = row_find(rows, n, OP_NETTLE_SHA256, NULL, 0, 0);
	const struct row *sp;
	static const char *const big[] = { "10 MB text", "10 MB base64" };
	struct target t;
	char what[96];
	size_t i;
	int op;

	fprintf(f, "\nTargets (issue 9):\n\n| target | measured | goal | "
	    "verdict |\n|---|---:|---:|---|\n");
	t = (struct target){ "verify 2 KB relaxed: x libopendkim msg/s",
	    ratio(v2), 3, "x" };
	target_line(f, &t, false);
	for (i = 0; i < 2; i++)
		for (op = OP_SIGN; op <= OP_VERIFY; op++) {
			const struct row *r = row_find(rows, n, (enum op)op,
			    big[i], DKK_CANON_RELAXED, false);

			snprintf(what, sizeof(what), "%s %s relaxed: x "
			    "libopendkim MB/s", op == OP_SIGN ? "sign" :
			    "verify", big[i]);
			t = (struct target){ what, ratio(r), 3, "x" };
			target_line(f, &t, false);
			snprintf(what, sizeof(what), "%s %s relaxed: %% of "
			    "cached SHA-256 MB/s", op == OP_SIGN ? "sign" :
			    "verify", big[i]);
			t = (struct target){ what, 100 * r->median[LIB_DK] /
			    sh->median[LIB_DK], 70, "%" };
			target_line(f, &t, false);
		}
	t = (struct target){ "sign 2 KB relaxed: % of Nettle _tr sign op/s",
	    100 * s2->median[LIB_DK] / rs->median[LIB_DK], 90, "%" };
	target_line(f, &t, false);
	for (i = 0; i < 2; i++) {
		const struct row *p10 = row_find(rows, n, OP_POLICY,
		    i ? "10-line refile" : "10-line file", 0, false);
		const struct row *p100k = row_find(rows, n, OP_POLICY,
		    i ? "100000-line refile" : "100000-line file", 0, false);

		snprintf(what, sizeof(what), "policy decision, 100000-line %s "
		    "table: %% of the 10-line rate (issue 19)", i ? "refile:" :
		    "file:");
		t = (struct target){ what, 100 * p100k->median[LIB_DK] /
		    p10->median[LIB_DK], 50, "%" };
		target_line(f, &t, false);
	}
	t = (struct target){ "peak RSS, largest message, dkimkit (MB)",
	    (double)rss[nrss - 1].kb[LIB_DK] / 1024, 16, "" };
	target_line(f, &t, true);
	/* Issue 20: SPF at least 3 times libspf2's rate, over the same
	 * records, when libspf2 was there to measure. */
	sp = row_find(rows, n, OP_SPF, NULL, 0, false);
	if (sp != NULL && sp->both) {
		t = (struct target){ "SPF evaluations: x libspf2 eval/s "
		    "(issue 20)", ratio(sp), 3, "x" };
		target_line(f, &t, false);
	}
}

static void
report_header(FILE *f, const struct bench *b)
{
	struct utsname u;
	char cpu[256] = "unknown", line[512];
	time_t now = time(NULL);
	FILE *ci;

	if ((ci = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), ci) != NULL)
			if (strncmp(line, "model name", 10) == 0 &&
			    strchr(line, ':') != NULL) {
				snprintf(cpu, sizeof(cpu), "%s",
				    strchr(line, ':') + 2);
				cpu[strcspn(cpu, "\n")] = '\0';
				break;
			}
		fclose(ci);
	}
#if defined(__x86_64__) && defined(__GNUC__)
	/* What core/dkim/canon.c looks for to take relaxed bodies 64 octets at a
	 * time (16 without). */
	if (__builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vbmi2"))
		strncat(cpu, " (AVX-512 BW, VBMI2)",
		    sizeof(cpu) - strlen(cpu) - 1);
#endif
	uname(&u);
	fprintf(f, "# dkimkit vs libopendkim%s\n\n", b->tiny ?
	    " (--tiny: harness check, figures meaningless)" : "");
	fprintf(f, "Run %s", asctime(gmtime(&now)));
	fprintf(f, "on %s, %ld CPUs, %s %s; libopendkim %u.%u.%u, Nettle %d.%d.  "
	    "RSA-2048 keys, rsa-sha256 unless marked; median of %d "
	    "interleaved rounds; rates from the process's CPU time (the "
	    "machine is shared), the filter's latency from wall time.\n\n",
	    cpu, sysconf(_SC_NPROCESSORS_ONLN),
	    u.sysname, u.release, dkim_libversion() >> 24,
	    (dkim_libversion() >> 16) & 0xff, (dkim_libversion() >> 8) & 0xff,
	    nettle_version_major(), nettle_version_minor(), b->rounds);
}

/* ------------------------------------------------------------------ */

static void
usage(void)
{
	fprintf(stderr, "usage: bench [--tiny] [--rounds N] [--out FILE] "
	    "[--filter PATH] [--only WORDS]\n");
	exit(2);
}

static void
args(struct bench *b, int argc, char **argv)
{
	int i;

	b->rounds = 5;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tiny") == 0)
			b->tiny = true;
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			b->rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			b->out = argv[++i];
		else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
			b->filter = argv[++i];
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			b->only = argv[++i];
		else
			usage();
	}
	if (b->rounds < 1 || b->rounds > MAX_ROUNDS)
		usage();
	if (b->tiny)
		b->rounds = 1;
}

/* filter-dkimkit of the same build tree, when --filter is not given. */
static void
filter_default(struct bench *b)
{
	static char path[4096];
	char self[4000];
	ssize_t n;
	char *slash;

	if (b->filter != NULL)
		return;
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return;
	*slash = '\0';
	snprintf(path, sizeof(path),
	    "%s/../plugins/opensmtpd/filter-dkimkit", self);
	if (access(path, X_OK) == 0)
		b->filter = path;
}

static void
cleanup(struct bench *b)
{
#ifdef HAVE_LIBSPF2
	if (b->spf != NULL)
		SPF_server_free(b->spf);
	if (b->spf_dns != NULL)
		SPF_dns_free(b->spf_dns);
	b->spf = NULL;
	b->spf_dns = NULL;
#endif
	unlink(b->zone);
	unlink(b->keyfile);
	rmdir(b->dir);
	ptests_free();
}

static void
report(struct bench *b, const struct row *rows, size_t n,
    const struct rss *rss, size_t nrss, const struct latency *l, size_t nl)
{
	char *text;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		die("report", DKK_ENOMEM);
	report_header(f, b);
	report_rows(f, rows, n);
	report_rss(f, rss, nrss);
	report_latency(f, l, nl, b->filter != NULL);
	report_targets(f, rows, n, rss, nrss);
	fclose(f);
	fputs(text, stdout);
	if (b->out != NULL) {
		if ((f = fopen(b->out, "w")) == NULL ||
		    fputs(text, f) == EOF || fclose(f) != 0) {
			fprintf(stderr, "bench: %s: %s\n", b->out,
			    strerror(errno));
			b->failures++;
		}
	}
	free(text);
}

/* --only: the chosen rows, measured and printed, for profiling. */
static int
only(struct bench *b, struct row *rows, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (strstr(rows[i].name, b->only) != NULL)
			rows[k++] = rows[i];
	rows_measure(b, rows, k);
	report_rows(stdout, rows, k);
	cleanup(b);
	return b->failures > 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	static struct bench b;
	static struct row rows[64];
	struct rss rss[3] = { { 1 << 20, { 0, 0 } }, { 10 << 20, { 0, 0 } },
	    { 100 << 20, { 0, 0 } } };
	struct latency lat[2] = { { NULL, { 0 }, 0, false },
	    { NULL, { 0 }, 0, false } };
	const char *tmp = getenv("TMPDIR");
	size_t n, i;

	args(&b, argc, argv);
	filter_default(&b);
	signal(SIGPIPE, SIG_IGN);
	snprintf(b.dir, sizeof(b.dir), "%s/dkkbench.XXXXXX",
	    tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
	if (mkdtemp(b.dir) == NULL)
		die("mkdtemp", DKK_EIO);
	setup_dkimkit(&b);
	setup_opendkim(&b);
#ifdef HAVE_LIBSPF2
	setup_libspf2(&b);
#endif
	for (i = 0; i < NELEM(rss); i++)
		rss[i].size /= b.tiny ? 1024 : 1;
	if (b.only == NULL)
		rss_measure(&b, rss, NELEM(rss));
	for (i = 0; i < NCORPORA; i++)
		msg_make(&corpora[i].m, corpora[i].kind, b.tiny ?
		    corpora[i].tiny : corpora[i].body);
	cross_check(&b);
	floor_init(&nettle, &corpora[2].m);
	n = rows_build(&b, rows);
	if (b.only != NULL)
		return only(&b, rows, n);
	lat[0].row = row_find(rows, n, OP_VERIFY, "2 KB", DKK_CANON_RELAXED,
	    false);
	lat[1].row = row_find(rows, n, OP_VERIFY, "100 KB",
	    DKK_CANON_RELAXED, false);
	rows_measure(&b, rows, n);
	if (b.filter != NULL)
		latency_measure(&b, lat, NELEM(lat));
	report(&b, rows, n, rss, NELEM(rss), lat, NELEM(lat));
	cleanup(&b);
	if (b.failures > 0)
		fprintf(stderr, "bench: %d check(s) failed\n", b.failures);
	return b.failures > 0 ? 1 : 0;
}
