/*
 * aggregate.c: dkimkit report aggregate: DMARC aggregate reports (RFC
 * 9990) from the observation store, one per policy domain and period,
 * as gzip-compressed XML files named as RFC 9990 says (its Email section).
 *
 * The messages of the period are read once, in id order with their
 * signatures; each becomes a key (source IP, identifiers, DMARC's view,
 * the SPF and DKIM results) counted in a hash table per policy domain:
 * building the reports grows linearly with the rows.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "cli.h"
#include "reportsend.h"
#include "store.h"

static const char agg_usage[] =
    "usage: dkimkit report aggregate --store URI [--since T] [--until T]\n"
    "           [--org-name NAME] [--org-email ADDR] [--receiver DOMAIN]\n"
    "           (--out DIR | --send [--zone FILE | --dns ADDR[@PORT]]\n"
    "           [--report-dir DIR | --sendmail PATH | --report-smtp H:P]\n"
    "           [--report-suppress FILE])\n"
    "\n"
    "Build the DMARC aggregate reports (RFC 9990) of what verify --store\n"
    "(or a host) recorded: one per policy domain, gzip-compressed XML\n"
    "named RECEIVER!POLICY-DOMAIN!BEGIN!END.xml.gz, written to a folder\n"
    "or mailed to the rua= addresses of the domain's DMARC record.\n"
    "\n"
    "  --store URI        a file or sqlite:PATH, or postgresql://...\n"
    "  --since T          the period's start: a unix time or an age such\n"
    "                     as 24h, 7d (default: the last whole UTC day)\n"
    "  --until T          the period's end, not included (default: the\n"
    "                     last midnight UTC, or now with --since)\n"
    "  --org-name NAME    the reporting organization (default: the\n"
    "                     receiver domain)\n"
    "  --org-email ADDR   its contact (default: postmaster@RECEIVER)\n"
    "  --receiver DOMAIN  the receiver in the file name and report id\n"
    "                     (default: the domain of --org-email, else this\n"
    "                     host's name)\n"
    "  --out DIR          write the reports there\n"
    "  --send             mail each report to the rua= addresses of the\n"
    "                     policy domain's record as it is now (looked up\n"
    "                     through --zone or --dns, else the system's\n"
    "                     resolver); an address outside the domain only\n"
    "                     when <domain>._report._dmarc.<its domain> says\n"
    "                     v=DMARC1, and never past its !size limit.  By\n"
    "                     sendmail -t -f '' unless --report-dir (a .eml\n"
    "                     file each) or --report-smtp (MAIL FROM:<>)\n"
    "\n"
    "Exit status: 0, or 2 for usage errors and a store or folder that\n"
    "cannot be used.\n";

/* One record of a report: a key and how many messages had it. */
struct agg_rec {
	char *key;		/* the record's XML, without <count> */
	char *head;		/* <source_ip> ... before <count> */
	long long count;
	struct agg_rec *next;	/* hash chain */
	struct agg_rec *order;	/* the next one first seen */
};

/* One policy domain: its published policy (the latest message's, as
 * RFC 9990 prefers the final configuration) and its records. */
struct agg_dom {
	char *domain;
	char *pub[8];		/* p sp np adkim aspf t psd discovery */
	long long pub_id;
	struct agg_rec **tab;
	size_t tabn, nrec;
	struct agg_rec *first, **last;	/* first-seen order */
	long long noip;		/* messages without a client address */
	struct agg_dom *next;
};

/* One <dkim> element of the message being read, and its rank among
 * them (RFC 9990, DKIM Signatures in Aggregate Reports). */
struct agg_sig {
	int prio;
	size_t seq;
	char *xml;
};

struct agg {
	struct agg_dom *doms;
	/* the message being read */
	long long id;
	const char *const *m;	/* its columns, copied into cur */
	char *cur[32];
	struct agg_sig *sigs;	/* its <dkim> elements */
	size_t nsigs;
	int bad;
};

enum { C_ID, C_IP, C_FROM, C_MFROM, C_RCPT, C_DMARC, C_POLICY, C_DISP,
	C_DALIGN, C_SALIGN, C_OVR, C_OVRC, C_SPF, C_SPFD, C_SPFS, C_HELO,
	C_PDOM, C_P, C_SP, C_NP, C_ADKIM, C_ASPF, C_T, C_PSD, C_DISC,
	C_SD, C_SS, C_SRES, C_SREASON, C_N };

static const char agg_sql[] =
    "SELECT m.id, m.client_ip, m.from_domain, m.mail_from, m.rcpt_domain,"
    " m.dmarc, m.dmarc_policy, m.disposition, m.dkim_aligned,"
    " m.spf_aligned, m.override, m.override_comment, m.spf, m.spf_domain,"
    " m.spf_scope, m.helo, m.policy_domain, m.pub_p, m.pub_sp, m.pub_np,"
    " m.pub_adkim, m.pub_aspf, m.pub_t, m.pub_psd, m.discovery, s.d, s.s,"
    " s.result, s.reason FROM messages m LEFT JOIN signatures s"
    " ON s.message_id = m.id WHERE m.seen >= $1 AND m.seen < $2"
    " AND m.policy_domain IS NOT NULL ORDER BY m.id, s.idx";

/* The length of the UTF-8 sequence at s (RFC 3629: no overlong form,
 * no surrogate, nothing past U+10FFFF), or 0 when it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Text for an XML element's content.  What came from mail may be any
 * bytes: what is not UTF-8, or not allowed in XML 1.0, becomes '?', so
 * that the report always parses. */
static void
xml_text(FILE *f, const char *s)
{
	size_t n;

	for (; s != NULL && *s != '\0'; s += n) {
		unsigned char c = (unsigned char)*s;

		if ((n = utf8_len((const unsigned char *)s)) == 0) {
			fputc('?', f);
			n = 1;
		} else if (n > 1)
			fwrite(s, 1, n, f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '&')
			fputs("&amp;", f);
		else if (c < 0x20 && c != '\t')
			fputc('?', f);	/* not allowed in XML 1.0 */
		else
			fputc(c, f);
	}
}

static void
xml_el(FILE *f, const char *indent, const char *name, const char *v)
{
	fprintf(f, "%s<%s>", indent, name);
	xml_text(f, v);
	fprintf(f, "</%s>\n", name);
}

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct agg_dom *
dom_get(struct agg *a, const char *domain)
{
	struct agg_dom *d;

	for (d = a->doms; d != NULL; d = d->next)
		if (strcmp(d->domain, domain) == 0)
			return d;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->domain = strdup(domain)) == NULL ||
	    (d->tab = calloc(64, sizeof(*d->tab))) == NULL) {
		if (d != NULL)
			free(d->domain);
		free(d);
		return NULL;
	}
	d->tabn = 64;
	d->last = &d->first;
	d->pub_id = -1;
	d->next = a->doms;
	a->doms = d;
	return d;
}

/* Twice the buckets when the chains grow past two on average. */
static int
dom_grow(struct agg_dom *d)
{
	struct agg_rec **t, *r, *next;
	size_t i, n = d->tabn * 2;

	if ((t = calloc(n, sizeof(*t))) == NULL)
		return -1;
	for (i = 0; i < d->tabn; i++)
		for (r = d->tab[i]; r != NULL; r = next) {
			next = r->next;
			r->next = t[hash(r->key) & (n - 1)];
			t[hash(r->key) & (n - 1)] = r;
		}
	free(d->tab);
	d->tab = t;
	d->tabn = n;
	return 0;
}

/* Count one message under key (taken: freed when already there). */
static int
dom_count(struct agg_dom *d, char *head, char *key)
{
	struct agg_rec *r, **slot;

	if (d->nrec >= d->tabn * 2 && dom_grow(d) != 0)
		return -1;
	slot = &d->tab[hash(key) & (d->tabn - 1)];
	for (r = *slot; r != NULL; r = r->next)
		if (strcmp(r->key, key) == 0 && strcmp(r->head, head) == 0) {
			r->count++;
			free(key);
			free(head);
			return 0;
		}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->key = key;
	r->head = head;
	r->count = 1;
	r->next = *slot;
	*slot = r;
	*d->last = r;	/* first-seen order, for the report */
	d->last = &r->order;
	d->nrec++;
	return 0;
}

static const char *
col(const struct agg *a, int c)
{
	return a->cur[c];
}

/* RFC 9990's disposition: "pass" for DMARC passing under an enforcing
 * policy (nothing to do, and the policy would have acted), else what
 * was applied. */
static const char *
disposition(const struct agg *a)
{
	const char *d = col(a, C_DISP), *p = col(a, C_POLICY);

	if (col(a, C_DMARC) != NULL && strcmp(col(a, C_DMARC), "pass") == 0 &&
	    p != NULL && strcmp(p, "none") != 0)
		return "pass";
	return d != NULL ? d : "none";
}

static void
rec_reasons(FILE *f, const struct agg *a)
{
	const char *t = col(a, C_T), *d = disposition(a),
	    *p = col(a, C_POLICY);

	if (col(a, C_OVR) != NULL) {
		fputs("        <reason>\n", f);
		xml_el(f, "          ", "type", col(a, C_OVR));
		if (col(a, C_OVRC) != NULL)
			xml_el(f, "          ", "comment", col(a, C_OVRC));
		fputs("        </reason>\n", f);
	} else if (p != NULL && strcmp(d, p) != 0 && strcmp(d, "pass") != 0 &&
	    col(a, C_DMARC) != NULL && strcmp(col(a, C_DMARC), "fail") == 0) {
		/* A failure not given its policy says why (RFC 9990:
		 * the reason MUST be there): t=y (policy_test_mode), or
		 * in RFC 7489 mode pct= (its appendix C's sampled_out). */
		fputs("        <reason>\n", f);
		xml_el(f, "          ", "type", t != NULL && strcmp(t, "y") ==
		    0 ? "policy_test_mode" : "sampled_out");
		fputs("        </reason>\n", f);
	}
}

static void sigs_put(FILE *f, struct agg *a);

/* The record's XML after <count>: policy_evaluated, identifiers and
 * auth_results (the DKIM elements read so far for this message). */
static char *
rec_key(struct agg *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *spfd, *ef = col(a, C_MFROM);

	if (f == NULL)
		return NULL;
	fputs("      <policy_evaluated>\n", f);
	xml_el(f, "        ", "disposition", disposition(a));
	xml_el(f, "        ", "dkim", col(a, C_DALIGN) != NULL ?
	    col(a, C_DALIGN) : "fail");
	xml_el(f, "        ", "spf", col(a, C_SALIGN) != NULL ?
	    col(a, C_SALIGN) : "fail");
	rec_reasons(f, a);
	fputs("      </policy_evaluated>\n    </row>\n    <identifiers>\n", f);
	if (col(a, C_RCPT) != NULL)
		xml_el(f, "      ", "envelope_to", col(a, C_RCPT));
	/* RFC 9990: envelope_from is there but empty for a null
	 * reverse-path; absent when MAIL FROM was not known. */
	if (ef != NULL || col(a, C_SPF) != NULL)
		xml_el(f, "      ", "envelope_from", ef != NULL ? ef : "");
	xml_el(f, "      ", "header_from", col(a, C_FROM) != NULL ?
	    col(a, C_FROM) : "");
	fputs("    </identifiers>\n    <auth_results>\n", f);
	sigs_put(f, a);
	/* The schema wants one SPF result: none when SPF was not checked,
	 * for the domain it would have checked. */
	spfd = col(a, C_SPFD) != NULL ? col(a, C_SPFD) : ef != NULL &&
	    *ef != '\0' ? ef : col(a, C_HELO) != NULL ? col(a, C_HELO) :
	    col(a, C_FROM);
	fputs("      <spf>\n", f);
	xml_el(f, "        ", "domain", spfd != NULL ? spfd : "");
	xml_el(f, "        ", "scope", col(a, C_SPFS) != NULL ?
	    col(a, C_SPFS) : "mfrom");
	xml_el(f, "        ", "result", col(a, C_SPF) != NULL ?
	    col(a, C_SPF) : "none");
	fputs("      </spf>\n    </auth_results>\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void
msg_clear(struct agg *a)
{
	size_t i;

	for (i = 0; i < C_N; i++) {
		free(a->cur[i]);
		a->cur[i] = NULL;
	}
	for (i = 0; i < a->nsigs; i++)
		free(a->sigs[i].xml);
	free(a->sigs);
	a->sigs = NULL;
	a->nsigs = 0;
	a->id = -1;
}

/* The message read so far, counted in its policy domain's report. */
static int
msg_done(struct agg *a)
{
	struct agg_dom *d;
	char *head = NULL, *key;
	long long id = a->id;
	int i;

	if (id < 0)
		return 0;
	if ((d = dom_get(a, col(a, C_PDOM))) == NULL)
		return -1;
	if (id > d->pub_id) {
		d->pub_id = id;
		for (i = 0; i < 8; i++) {
			free(d->pub[i]);
			d->pub[i] = col(a, C_P + i) != NULL ?
			    strdup(col(a, C_P + i)) : NULL;
		}
	}
	if (col(a, C_IP) == NULL) {
		/* the schema's source_ip is required: said in <error> */
		d->noip++;
		return 0;
	}
	if ((key = rec_key(a)) == NULL || (head = strdup(col(a, C_IP))) ==
	    NULL || dom_count(d, head, key) != 0) {
		free(key);
		free(head);
		return -1;
	}
	return 0;
}

/* d is dom or below it. */
static int
under(const char *d, const char *dom)
{
	size_t dl = strlen(d), n = strlen(dom);

	return dom[0] != '\0' && (strcasecmp(d, dom) == 0 || (dl > n &&
	    d[dl - n - 1] == '.' && strcasecmp(d + dl - n, dom) == 0));
}

/* RFC 9990's order (DKIM Signatures in Aggregate Reports): a pass in
 * strict alignment with the From
 * domain, one in relaxed alignment (judged by the policy domain, which
 * is the From domain or its Organizational Domain), any other pass,
 * then the rest. */
static int
sig_prio(const struct agg *a, const char *d, const char *result)
{
	const char *from = col(a, C_FROM), *pdom = col(a, C_PDOM);

	if (strcmp(result, "pass") != 0)
		return 3;
	if (from != NULL && strcasecmp(d, from) == 0)
		return 0;
	if (pdom != NULL && under(d, pdom))
		return 1;
	return 2;
}

static int
msg_sig(struct agg *a, const char *const *v)
{
	struct agg_sig *ns;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (v[C_SD] == NULL || v[C_SRES] == NULL)
		return 0;	/* an unparsable signature has no d= */
	if ((ns = realloc(a->sigs, (a->nsigs + 1) * sizeof(*ns))) == NULL)
		return -1;
	a->sigs = ns;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return -1;
	fputs("      <dkim>\n", f);
	xml_el(f, "        ", "domain", v[C_SD]);
	xml_el(f, "        ", "selector", v[C_SS] != NULL ? v[C_SS] : "");
	xml_el(f, "        ", "result", v[C_SRES]);
	if (v[C_SREASON] != NULL && strcmp(v[C_SREASON], "ok") != 0)
		xml_el(f, "        ", "human_result", v[C_SREASON]);
	fputs("      </dkim>\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return -1;
	}
	ns[a->nsigs].prio = sig_prio(a, v[C_SD], v[C_SRES]);
	ns[a->nsigs].seq = a->nsigs;
	ns[a->nsigs].xml = buf;
	a->nsigs++;
	return 0;
}

static int
sig_cmp(const void *x, const void *y)
{
	const struct agg_sig *p = x, *q = y;

	if (p->prio != q->prio)
		return p->prio < q->prio ? -1 : 1;
	return p->seq < q->seq ? -1 : p->seq > q->seq;
}

/* RFC 9990: no more than 100 signatures a row, best first. */
#define AGG_MAX_SIGS 100

static void
sigs_put(FILE *f, struct agg *a)
{
	size_t i;

	if (a->nsigs == 0)
		return;		/* qsort() wants a pointer even for none */
	qsort(a->sigs, a->nsigs, sizeof(*a->sigs), sig_cmp);
	for (i = 0; i < a->nsigs && i < AGG_MAX_SIGS; i++)
		fputs(a->sigs[i].xml, f);
}

static int
agg_row(void *arg, int n, const char *const *v)
{
	struct agg *a = arg;
	long long id;
	int i;

	if (n < C_N || v[C_ID] == NULL || v[C_PDOM] == NULL)
		return 0;
	id = atoll(v[C_ID]);
	if (id != a->id) {
		if (msg_done(a) != 0)
			goto bad;
		msg_clear(a);
		a->id = id;
		for (i = 0; i < C_SD; i++)
			if (v[i] != NULL && (a->cur[i] = strdup(v[i])) == NULL)
				goto bad;
	}
	if (msg_sig(a, v) == 0)
		return 0;
bad:
	a->bad = 1;
	return 1;
}

struct agg_opts {
	const char *uri, *out, *org_name, *org_email, *receiver;
	long long since, until;
	int send;
	struct source_opts src;
	struct dkr_send ds;
	dkk_ctx *ctx;		/* --send: its resolver */
	int sent, refused;	/* --send: what became of them */
};

/* Defaults of RFC 9989/9990 for tags the owner left out: sp= is p=,
 * np= is sp=; p= absent (a record kept only for its rua=) is none. */
static void
pub_defaults(const struct agg_dom *d, const char **p, const char **sp,
    const char **np)
{
	*p = d->pub[0] != NULL ? d->pub[0] : "none";
	*sp = d->pub[1] != NULL ? d->pub[1] : *p;
	*np = d->pub[2] != NULL ? d->pub[2] : *sp;
}

static void
xml_policy(FILE *f, const struct agg_dom *d)
{
	const char *p, *sp, *np;

	pub_defaults(d, &p, &sp, &np);
	fputs("  <policy_published>\n", f);
	xml_el(f, "    ", "domain", d->domain);
	if (d->pub[7] != NULL)
		xml_el(f, "    ", "discovery_method", d->pub[7]);
	if (d->pub[3] != NULL)
		xml_el(f, "    ", "adkim", d->pub[3]);
	if (d->pub[4] != NULL)
		xml_el(f, "    ", "aspf", d->pub[4]);
	xml_el(f, "    ", "p", p);
	xml_el(f, "    ", "sp", sp);
	xml_el(f, "    ", "np", np);
	if (d->pub[5] != NULL)
		xml_el(f, "    ", "testing", d->pub[5]);
	if (d->pub[6] != NULL)
		xml_el(f, "    ", "psd", d->pub[6]);
	fputs("  </policy_published>\n", f);
}

/* The report id (RFC 9990's Report-ID: dot-atom-text, unique among the
 * reports to one domain): the same for the same period and domain, so
 * that a report built again is known as a duplicate. */
static void
report_id(char *out, size_t n, const struct agg_opts *o,
    const struct agg_dom *d)
{
	snprintf(out, n, "%lld.%lld.%016llx@%s", o->since, o->until - 1,
	    (unsigned long long)hash(d->domain), o->receiver);
}

static char *
xml_report(const struct agg_opts *o, const struct agg_dom *d)
{
	char *buf = NULL, rid[512];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const struct agg_rec *r;

	if (f == NULL)
		return NULL;
	report_id(rid, sizeof(rid), o, d);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n"
	    "  <version>1.0</version>\n  <report_metadata>\n", f);
	xml_el(f, "    ", "org_name", o->org_name);
	xml_el(f, "    ", "email", o->org_email);
	xml_el(f, "    ", "report_id", rid);
	/* date_range: the period, its end the last second in it */
	fprintf(f, "    <date_range>\n      <begin>%lld</begin>\n"
	    "      <end>%lld</end>\n    </date_range>\n", o->since,
	    o->until - 1);
	if (d->noip > 0)
		fprintf(f, "    <error>%lld message%s without a client address "
		    "left out</error>\n", d->noip, d->noip == 1 ? "" : "s");
	fputs("  </report_metadata>\n", f);
	xml_policy(f, d);
	for (r = d->first; r != NULL; r = r->order) {
		fputs("  <record>\n    <row>\n", f);
		xml_el(f, "      ", "source_ip", r->head);
		fprintf(f, "      <count>%lld</count>\n", r->count);
		fputs(r->key, f);
		fputs("  </record>\n", f);
	}
	fputs("</feedback>\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* gzip (RFC 1952) through zlib, which the store's libpq and GnuTLS
 * already bring in: RFC 9990 wants the XML compressed.  The
 * compressed bytes in *out (free with free()), or -1. */
static int
gz_make(const char *data, size_t len, unsigned char **out, size_t *outlen)
{
	z_stream z;
	uLong bound;
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	/* deflateBound() leaves out the gzip header and trailer */
	bound = deflateBound(&z, (uLong)len) + 32;
	if ((*out = malloc(bound)) == NULL) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = *out;
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static int
file_write(const char *path, const unsigned char *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	if (fwrite(p, 1, n, f) != n) {
		fclose(f);
		unlink(path);
		return -1;
	}
	if (fclose(f) != 0) {
		unlink(path);
		return -1;
	}
	return 0;
}

/* A domain fit for a file name: no '/', no '!' (RFC 9990's separator)
 * and not a dot name (the store's domains come from mail). */
static int
name_safe(const char *s)
{
	return *s != '\0' && *s != '.' && strpbrk(s, "/!") == NULL;
}

static void
base64_lines(FILE *f, const unsigned char *p, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, col = 0;
	unsigned v;

	for (i = 0; i < n; i += 3) {
		v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		fputc(b64[v >> 18 & 63], f);
		fputc(b64[v >> 12 & 63], f);
		fputc(i + 1 < n ? b64[v >> 6 & 63] : '=', f);
		fputc(i + 2 < n ? b64[v & 63] : '=', f);
		if ((col += 4) == 76) {	/* RFC 2045 6.8 */
			fputs("\r\n", f);
			col = 0;
		}
	}
	if (col > 0)
		fputs("\r\n", f);
}

/* The report as RFC 9990 mails it: the Subject of its ABNF, the
 * gzip file as an application/gzip attachment named as the file would
 * be, the report id as Message-ID too; null sender on the envelope (the
 * sender in reportsend.c) so that no bounce can loop. */
static char *
mail_build(const struct agg_opts *o, const struct agg_dom *d,
    const char *to, const char *name, const unsigned char *gz,
    size_t gzlen)
{
	char *buf = NULL, rid[512], date[64];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	time_t now = time(NULL);
	struct tm tm;

	if (f == NULL)
		return NULL;
	report_id(rid, sizeof(rid), o, d);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	fprintf(f, "From: %s\r\nTo: %s\r\nDate: %s\r\n"
	    "Subject: Report Domain: %s Submitter: %s\r\n"
	    " Report-ID: <%s>\r\nMessage-ID: <%s>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"=_dkimkit_%llx\"\r\n"
	    "\r\n--=_dkimkit_%llx\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "The DMARC aggregate report (RFC 9990) of %s for %lld to %lld\r\n"
	    "(seconds since 1970, UTC), from %s.\r\n\r\n"
	    "--=_dkimkit_%llx\r\n"
	    "Content-Type: application/gzip; name=\"%s\"\r\n"
	    "Content-Disposition: attachment; filename=\"%s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", o->org_email, to,
	    date, d->domain, o->receiver, rid, rid,
	    (unsigned long long)hash(rid), (unsigned long long)hash(rid),
	    d->domain, o->since, o->until - 1, o->org_name,
	    (unsigned long long)hash(rid), name, name);
	base64_lines(f, gz, gzlen);
	fprintf(f, "--=_dkimkit_%llx--\r\n", (unsigned long long)hash(rid));
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* One rua= destination: refused, over its size (0, said), or sent (0),
 * or a delivery that failed (-1, said). */
static int
dest_send(struct agg_opts *o, const struct agg_dom *d,
    const struct dkk_report_dest *t, const char *name,
    const unsigned char *gz, size_t gzlen)
{
	const char *st;
	char *msg;
	int rc = 0;

	if (t->state != DKK_DEST_OK) {
		warnx("report aggregate: %s: not sent to %s: %s", d->domain,
		    t->state == DKK_DEST_BAD ? "a bad rua= URI" : t->addr,
		    t->why);
		o->refused++;
		return 0;
	}
	if ((msg = mail_build(o, d, t->addr, name, gz, gzlen)) == NULL) {
		warnx("report aggregate: %s: out of memory", d->domain);
		return -1;
	}
	/* RFC 9990 (Transport): the size after compression and encoding */
	if (t->max_bytes > 0 && strlen(msg) > t->max_bytes) {
		warnx("report aggregate: %s: not sent to %s: %zu bytes is "
		    "over its limit of %llu", d->domain, t->addr,
		    strlen(msg), (unsigned long long)t->max_bytes);
		o->refused++;
	} else if (strcmp(st = dkr_send_message(&o->ds, t->addr,
	    o->receiver, msg), "failed") != 0) {
		printf("%s %s %s\n", name, t->addr, st);
		o->sent++;
	} else
		rc = -1;
	free(msg);
	return rc;
}

#define AGG_MAX_DESTS 16

static int
report_send(struct agg_opts *o, const struct agg_dom *d, const char *name,
    const unsigned char *gz, size_t gzlen)
{
	struct dkk_report_dest t[AGG_MAX_DESTS];
	size_t n = 0, i;
	int found = 0, rc;

	rc = dkk_dmarc_dests(o->ctx, d->domain, 0, t, AGG_MAX_DESTS, &n,
	    &found);
	if (rc != DKK_OK) {
		warnx("report aggregate: %s: %s", d->domain, dkk_strerror(rc));
		return -1;
	}
	if (found != 1 || n == 0) {
		warnx("report aggregate: %s: not sent: %s", d->domain,
		    found < 0 ? "its DMARC record could not be looked up "
		    "(temporary)" : found == 0 ? "no DMARC record now" :
		    "its record asks for no aggregate reports (no rua=)");
		return 0;
	}
	for (i = 0; i < n; i++)
		if (dest_send(o, d, &t[i], name, gz, gzlen) != 0)
			rc = -1;
	return rc;
}

static int
report_write(struct agg_opts *o, const struct agg_dom *d)
{
	char name[1024], path[4096], *xml;
	unsigned char *gz = NULL;
	size_t gzlen = 0;
	int rc;

	if (!name_safe(d->domain)) {
		warnx("report aggregate: policy domain '%s' is no file name: "
		    "skipped", d->domain);
		return -1;
	}
	/* RFC 9990: receiver!policy-domain!begin!end.xml.gz */
	snprintf(name, sizeof(name), "%s!%s!%lld!%lld.xml.gz", o->receiver,
	    d->domain, o->since, o->until - 1);
	if ((xml = xml_report(o, d)) == NULL ||
	    gz_make(xml, strlen(xml), &gz, &gzlen) != 0) {
		free(xml);
		warnx("report aggregate: %s: out of memory", d->domain);
		return -1;
	}
	free(xml);
	if (o->send) {
		rc = report_send(o, d, name, gz, gzlen);
	} else {
		snprintf(path, sizeof(path), "%s/%s", o->out, name);
		if ((rc = file_write(path, gz, gzlen)) != 0)
			warnx("report aggregate: %s: %s", path,
			    strerror(errno));
		else
			printf("%s\n", path);
	}
	free(gz);
	return rc;
}

static void
agg_free(struct agg *a)
{
	struct agg_dom *d, *dn;
	struct agg_rec *r, *rn;
	int i;

	msg_clear(a);
	for (d = a->doms; d != NULL; d = dn) {
		dn = d->next;
		for (r = d->first; r != NULL; r = rn) {
			rn = r->order;
			free(r->key);
			free(r->head);
			free(r);
		}
		for (i = 0; i < 8; i++)
			free(d->pub[i]);
		free(d->tab);
		free(d->domain);
		free(d);
	}
}

static int
agg_read(dkst *st, const struct agg_opts *o, struct agg *a)
{
	char since[24], until[24], err[300];
	const char *p[2] = { since, until };

	snprintf(since, sizeof(since), "%lld", o->since);
	snprintf(until, sizeof(until), "%lld", o->until);
	if (dkst_select(st, agg_sql, 2, p, agg_row, a, err, sizeof(err)) != 0) {
		warnx("report aggregate: %s", err);
		return -1;
	}
	if (a->bad || msg_done(a) != 0) {
		warnx("report aggregate: out of memory");
		return -1;
	}
	return 0;
}

static void
send_warn(void *arg, const char *line)
{
	(void)arg;
	warnx("report aggregate: %s", line);
}

/* --send: a context for the record lookups, the sender's lists. */
static int
send_open(struct agg_opts *o)
{
	if (dkk_ctx_new(&o->ctx) != DKK_OK) {
		warnx("report aggregate: out of memory");
		return -1;
	}
	if (source_setup(o->ctx, &o->src) != 0) {
		dkk_ctx_free(o->ctx);
		o->ctx = NULL;
		return -1;
	}
	o->ds.warn = send_warn;
	if (dkr_open(&o->ds) != 0) {
		dkk_ctx_free(o->ctx);
		o->ctx = NULL;
		return -1;
	}
	return 0;
}

static int
agg_run(struct agg_opts *o)
{
	struct dkst_opts so = { .queue_max = 1 };
	struct agg a = { .id = -1 };
	struct agg_dom *d;
	char err[300];
	dkst *st;
	int rc = 0;

	if (!store_exists(o->uri)) {
		warnx("report aggregate: %s: no such store", o->uri);
		return EXIT_TROUBLE;
	}
	if (dkst_open(o->uri, &so, &st, err, sizeof(err)) != 0) {
		warnx("report aggregate: %s", err);
		return EXIT_TROUBLE;
	}
	if (agg_read(st, o, &a) != 0)
		rc = -1;
	dkst_close(st, NULL);
	if (rc == 0 && o->send && send_open(o) != 0)
		rc = -1;
	/* every domain is tried: one that fails does not hold back the
	 * others' reports */
	for (d = a.doms; rc >= 0 && d != NULL; d = d->next)
		if (report_write(o, d) != 0)
			rc = 1;
	agg_free(&a);
	if (o->send && o->ctx != NULL) {
		dkr_close(&o->ds);
		dkk_ctx_free(o->ctx);
	}
	return rc == 0 ? 0 : EXIT_TROUBLE;
}

/* The defaults of the period: the last whole UTC day (RFC 9990
 * asks for reports on day or hour boundaries). */
static void
period_defaults(struct agg_opts *o, int have_since, int have_until)
{
	long long now = (long long)time(NULL), midnight = now - now % 86400;

	if (!have_until)
		o->until = have_since ? now : midnight;
	if (!have_since)
		o->since = o->until - 86400;
}

static int
who_defaults(struct agg_opts *o, char *host, size_t hostlen, char *mail,
    size_t maillen)
{
	const char *at;

	if (o->receiver == NULL && o->org_email != NULL &&
	    (at = strrchr(o->org_email, '@')) != NULL && at[1] != '\0')
		o->receiver = at + 1;
	if (o->receiver == NULL) {
		if (gethostname(host, hostlen) != 0 || host[0] == '\0')
			return -1;
		host[hostlen - 1] = '\0';
		o->receiver = host;
	}
	if (!name_safe(o->receiver))
		return -1;
	if (o->org_email == NULL) {
		snprintf(mail, maillen, "postmaster@%s", o->receiver);
		o->org_email = mail;
	}
	if (o->org_name == NULL)
		o->org_name = o->receiver;
	return 0;
}

static int
cmd_aggregate(int argc, char **argv)
{
	enum { O_STORE = 256, O_SINCE, O_UNTIL, O_ORG, O_EMAIL, O_RECV,
	    O_OUT, O_HELP, O_SEND, O_RDIR, O_SENDMAIL, O_SMTP, O_SUPPRESS };
	static const struct option longopts[] = {
		SOURCE_LONGOPTS,
		{ "send", no_argument, NULL, O_SEND },
		{ "report-dir", required_argument, NULL, O_RDIR },
		{ "sendmail", required_argument, NULL, O_SENDMAIL },
		{ "report-smtp", required_argument, NULL, O_SMTP },
		{ "report-suppress", required_argument, NULL, O_SUPPRESS },
		{ "store", required_argument, NULL, O_STORE },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "org-name", required_argument, NULL, O_ORG },
		{ "org-email", required_argument, NULL, O_EMAIL },
		{ "receiver", required_argument, NULL, O_RECV },
		{ "out", required_argument, NULL, O_OUT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 }
	};
	struct agg_opts o = { 0 };
	char host[256], mail[300];
	int c, have_since = 0, have_until = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_STORE: o.uri = optarg; break;
		case O_SINCE:
		case O_UNTIL:
			if (parse_since(optarg, c == O_SINCE ? &o.since :
			    &o.until) != 0)
				return usage_error("report aggregate",
				    "bad time '%s'", optarg);
			*(c == O_SINCE ? &have_since : &have_until) = 1;
			break;
		case O_ORG: o.org_name = optarg; break;
		case O_EMAIL: o.org_email = optarg; break;
		case O_RECV: o.receiver = optarg; break;
		case O_OUT: o.out = optarg; break;
		case O_SEND: o.send = 1; break;
		case O_RDIR: o.ds.dir = optarg; break;
		case O_SENDMAIL: o.ds.sendmail = optarg; break;
		case O_SMTP:
			if (strchr(optarg, ':') == NULL)
				return usage_error("report aggregate",
				    "--report-smtp '%s': HOST:PORT wanted",
				    optarg);
			o.ds.smtp = optarg;
			break;
		case O_SUPPRESS: o.ds.suppress = optarg; break;
		case O_HELP: fputs(agg_usage, stdout); return 0;
		default:
			if (source_option(&o.src, c, optarg))
				break;
			return usage_error("report aggregate", "bad option");
		}
	}
	if (source_check("report aggregate", &o.src) != -1)
		return EXIT_TROUBLE;
	if (optind != argc)
		return usage_error("report aggregate", "no FILE is read");
	if (o.uri == NULL || (o.out == NULL) == (o.send == 0))
		return usage_error("report aggregate", "--store and one of "
		    "--out or --send are needed");
	if (!o.send && (o.ds.dir != NULL || o.ds.sendmail != NULL ||
	    o.ds.smtp != NULL || o.ds.suppress != NULL))
		return usage_error("report aggregate", "--report-dir, "
		    "--sendmail, --report-smtp and --report-suppress go with "
		    "--send");
	period_defaults(&o, have_since, have_until);
	if (o.until <= o.since)
		return usage_error("report aggregate", "--until must come "
		    "after --since");
	if (who_defaults(&o, host, sizeof(host), mail, sizeof(mail)) != 0)
		return usage_error("report aggregate", "no usable receiver "
		    "domain: give --receiver");
	return agg_run(&o);
}

int
cmd_report(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "aggregate") == 0)
		return cmd_aggregate(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		fputs(agg_usage, stdout);
		return 0;
	}
	return usage_error("report", "'aggregate' wanted");
}
