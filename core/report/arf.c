/*
 * arf.c: the failure report itself.  An RFC 5965 multipart/report with
 * the auth-failure feedback type of RFC 6591: a human part, the
 * machine-readable message/feedback-report part, and the original header
 * block (text/rfc822-headers).  With a redaction key, local parts are
 * replaced by a keyed hash as RFC 6590 describes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "dmarc/dmarc.h"
#include "report.h"

/* RFC 5965 3: a message whose top-level type is multipart/report with
 * report-type=feedback-report is a feedback report. */
bool
report_is_feedback(const struct header *h)
{
	const char *v;
	size_t i, len, j;
	struct buf low;
	bool yes = false;

	for (i = 0; i < h->count && !yes; i++) {
		if (!header_is(h, &h->fields[i], "Content-Type"))
			continue;
		v = header_value(h, &h->fields[i], &len);
		buf_init(&low);
		for (j = 0; j < len; j++)
			if (v[j] != ' ' && v[j] != '\t' && v[j] != '\r' &&
			    v[j] != '\n' && v[j] != '"')
				buf_addc(&low, (char)lower(v[j]));
		buf_addc(&low, '\0');
		/* out of memory: taken for a report, so none is made */
		yes = low.failed || (strncmp(low.p, "multipart/report", 16) ==
		    0 && strstr(low.p, ";report-type=feedback-report") != NULL);
		buf_clear(&low);
	}
	return yes;
}

/* RFC 5322 3.3 date-time in UTC, with English names whatever the
 * locale. */
static void
arf_date(struct buf *b, int64_t t)
{
	static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	buf_printf(b, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool
local_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

/* The length of a "name=" that opens the atext run s[0..n), or 0: a
 * tag (i=) or a property (header.i=, smtp.mailfrom=) whose value is the
 * address.  "=" is atext, so without this the name would be hashed
 * with the local part and the report would lose it. */
static size_t
tag_prefix(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n && (isalnum((unsigned char)s[i]) ||
	    s[i] == '.' || s[i] == '-' || s[i] == '_'); i++)
		;
	return i + 1 < n && s[i] == '=' ? i + 1 : 0;
}

/* RFC 6590 3: each local part (the atext run before an "@" that a domain
 * follows) becomes 32 hex digits of HMAC-SHA256(key, local part), so the
 * same address always gives the same token and no one without the key
 * can tell whose it was.  A "name=" opening the run stays as it is (see
 * tag_prefix; a local part such as SRS0=... keeps its "SRS0=", which
 * names no one). */
static void
arf_redact(struct buf *out, const char *s, size_t n,
    const struct dkk_report_info *info)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, start, at, k;
	uint8_t mac[32];

	while (i < n) {
		for (start = i; i < n && local_char((unsigned char)s[i]); i++)
			;
		at = i;
		if (at > start && at + 1 < n && s[at] == '@' &&
		    local_char((unsigned char)s[at + 1]) && s[at + 1] != '.') {
			k = tag_prefix(s + start, at - start);
			buf_add(out, s + start, k);
			start += k;
			hash_hmac_sha256(info->redact_key, info->redact_key_len,
			    s + start, at - start, mac);
			for (k = 0; k < 16; k++) {
				buf_addc(out, hex[mac[k] >> 4]);
				buf_addc(out, hex[mac[k] & 15]);
			}
		} else {
			buf_add(out, s + start, at - start);
		}
		if (i < n)
			buf_addc(out, s[i++]);
	}
}

/* Text from the message (a decoded i=, a selector, a reason naming
 * them) put into a field or a line of the report: a control character
 * (CR, LF, NUL, ...) becomes "?", so no such text can end a field or
 * a line and forge the ones after it. */
static void
arf_safe(struct buf *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_addc(out, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ?
		    '?' : s[i]);
}

/* A field value as given, or redacted; made safe either way. */
static void
arf_text(struct buf *out, const char *s, const struct dkk_report_info *info)
{
	struct buf t;

	if (info->redact_key == NULL) {
		arf_safe(out, s, strlen(s));
		return;
	}
	buf_init(&t);
	arf_redact(&t, s, strlen(s), info);
	if (t.failed)
		out->failed = true;
	else
		arf_safe(out, t.p, t.len);
	buf_clear(&t);
}

/* name: base64, folded at 76 columns with CRLF SP (RFC 6591 3.1 says
 * the value is base64; folding keeps lines under 998 octets). */
static int
arf_b64_field(struct buf *out, const char *name, const struct buf *data)
{
	char *b64 = b64_encode((const uint8_t *)data->p, data->len);
	size_t i, n;

	if (b64 == NULL)
		return DKK_ENOMEM;
	buf_printf(out, "%s:", name);
	n = strlen(b64);
	for (i = 0; i < n; i += 72) {
		buf_adds(out, i == 0 ? " " : "\r\n ");
		buf_add(out, b64 + i, n - i < 72 ? n - i : 72);
	}
	buf_adds(out, "\r\n");
	free(b64);
	return DKK_OK;
}

/* A canonical body over this many octets is left out of the report
 * rather than cut: a cut copy would not hash to bh= and would mislead
 * whoever checks it, and a report should not carry a huge body. */
#define ARF_BODY_MAX (1024 * 1024)

/* The canonicalized body as the signature hashed it, up to l=. */
static int
arf_body(const struct dkk_report_info *info, const struct sig *sg,
    struct buf *out)
{
	struct header h;
	struct body b;
	size_t used = 0;
	int rc;

	header_init(&h, SIZE_MAX, SIZE_MAX);
	rc = header_feed(&h, info->message, info->message_len, &used);
	header_clear(&h);
	if (rc != DKK_OK)
		return rc;
	body_init(&b, sg->bcanon);
	b.copy = out;
	b.copy_limit = sg->l >= 0 && sg->l <= ARF_BODY_MAX ? (uint64_t)sg->l :
	    ARF_BODY_MAX + 1;
	body_feed(&b, info->message + used, info->message_len - used);
	body_finish(&b);
	body_clear(&b);
	return out->failed ? DKK_ENOMEM : DKK_OK;
}

/* The DKIM-Canonicalized-Header and -Body fields (RFC 6591 3.1): the
 * octets the signature's hashes covered. */
static int
arf_canon(struct buf *out, const dkk_verifier *v, size_t i,
    const struct dkk_report_info *info)
{
	const struct vsig *vs = &v->sigs[i];
	struct buf hdr, body, tmp;
	struct sig sg;
	enum dkk_reason reason;
	const char *value;
	size_t len;
	int rc;

	memset(&sg, 0, sizeof(sg));
	buf_init(&hdr);
	buf_init(&body);
	buf_init(&tmp);
	value = header_text(&v->hdr, &v->hdr.fields[vs->field]);
	len = v->hdr.fields[vs->field].len;
	/* A signature that does not parse has nothing canonical to show. */
	if (sig_parse(&sg, value, len, &reason, &tmp) != DKK_OK)
		goto done;
	tmp.len = 0;
	if ((rc = hdrsel_copy(&hdr, &v->hdr, sg.h, sg.nh, sg.hcanon,
	    &v->hdr.fields[vs->field], &tmp)) != DKK_OK ||
	    (rc = canon_header(&hdr, sg.hcanon, sg.unsigned_field,
	    sg.unsigned_len, false)) != DKK_OK ||
	    (rc = arf_b64_field(out, "DKIM-Canonicalized-Header", &hdr)) !=
	    DKK_OK)
		goto fail;
	if (info->message != NULL &&
	    (rc = arf_body(info, &sg, &body)) != DKK_OK)
		goto fail;
	if (info->message != NULL && body.len <= ARF_BODY_MAX &&
	    (rc = arf_b64_field(out, "DKIM-Canonicalized-Body", &body)) !=
	    DKK_OK)
		goto fail;
done:
	rc = DKK_OK;
fail:
	sig_clear(&sg);
	buf_clear(&hdr);
	buf_clear(&body);
	buf_clear(&tmp);
	return rc;
}

/* RFC 6591 3.1 Auth-Failure: bodyhash, revoked, signature, adsp. */
static const char *
arf_auth_failure(const struct dkk_report_req *q,
    const struct dkk_sig_result *res)
{
	if (q->kind == DKK_REPORT_DMARC)
		return "dmarc";
	if (q->adsp)
		return "adsp";
	if (res->reason == DKK_R_BODY_HASH)
		return "bodyhash";
	if (res->reason == DKK_R_KEY_REVOKED)
		return "revoked";
	return "signature";
}

/* DKIM-Domain, -Identity, -Selector of one signature. */
static void
arf_dkim_ids(struct buf *out, const struct dkk_sig_result *res,
    const struct dkk_report_info *info)
{
	buf_printf(out, "DKIM-Domain: %s\r\n", res->domain);
	if (res->identity != NULL) {
		buf_adds(out, "DKIM-Identity: ");
		arf_text(out, res->identity, info);
		buf_adds(out, "\r\n");
	}
	if (res->selector != NULL) {
		buf_adds(out, "DKIM-Selector: ");
		arf_safe(out, res->selector, strlen(res->selector));
		buf_adds(out, "\r\n");
	}
}

/* The DKIM-* fields of a signature's report. */
static int
arf_dkim(struct buf *out, const dkk_reports *r, const struct dkk_report_req *q,
    const struct dkk_report_info *info)
{
	arf_dkim_ids(out, &r->v->sigs[q->sig].res, info);
	/* RFC 6590 3: a redacted report leaves out the canonical copies,
	 * which would give away what redaction hides. */
	if (info->redact_key != NULL)
		return DKK_OK;
	return arf_canon(out, r->v, q->sig, info);
}

/* RFC 9991 (draft-ietf-dmarc-failure-reporting 3): Identity-Alignment
 * lists the mechanisms whose identifiers aligned and passed, "none"
 * when none did. */
static void
arf_alignment(struct buf *out, const dkk_verifier *v, const char *author)
{
	struct dkk_dmarc_result res;
	size_t i;
	bool dkim = false, spf = false;

	for (i = 0; dmarc_author_result(v, i, &res); i++)
		if (res.domain != NULL && strcmp(res.domain, author) == 0) {
			dkim = res.dkim_aligned != 0;
			spf = res.spf_aligned != 0;
			break;
		}
	buf_printf(out, "Identity-Alignment: %s\r\n", dkim && spf ?
	    "dkim, spf" : dkim ? "dkim" : spf ? "spf" : "none");
}

/* The A-R field of the report: the one signature's entry for an RFC
 * 6651 report, the whole field (dkim, spf, dmarc) for a DMARC one. */
static int
arf_ar(struct buf *out, const dkk_reports *r, const struct dkk_report_req *q,
    const struct dkk_report_info *info)
{
	char *ar = NULL;
	int rc;

	if (q->kind == DKK_REPORT_DMARC)
		rc = dkk_verifier_ar(r->v, info->authserv_id, 0, &ar);
	else
		rc = dkk_verifier_ar_one(r->v, q->sig, info->authserv_id, 0,
		    &ar);
	if (rc != DKK_OK)
		return rc;
	/* RFC 6590 3: header.i= and the like hold local parts too */
	if (info->redact_key != NULL)
		arf_redact(out, ar, strlen(ar), info);
	else
		buf_adds(out, ar);
	buf_adds(out, "\r\n");
	free(ar);
	return DKK_OK;
}

/* The message/feedback-report part (RFC 5965 3.1, RFC 6591 3). */
static int
arf_feedback(struct buf *out, const dkk_reports *r,
    const struct dkk_report_req *q, const struct dkk_report_info *info)
{
	const struct dkk_sig_result *res = q->sig < r->v->nsigs ?
	    &r->v->sigs[q->sig].res : NULL;
	size_t k;
	int rc;

	buf_adds(out, "Content-Type: message/feedback-report\r\n\r\n");
	buf_adds(out, "Feedback-Type: auth-failure\r\n");
	buf_printf(out, "User-Agent: dkimkit/%s\r\nVersion: 1\r\n",
	    PACKAGE_VERSION);
	buf_printf(out, "Auth-Failure: %s\r\n", arf_auth_failure(q, res));
	if (q->kind == DKK_REPORT_DMARC)
		arf_alignment(out, r->v, q->domain);
	if ((rc = arf_ar(out, r, q, info)) != DKK_OK)
		return rc;
	if (info->mail_from != NULL) {
		buf_adds(out, "Original-Mail-From: <");
		arf_text(out, info->mail_from, info);
		buf_adds(out, ">\r\n");
	}
	for (k = 0; info->rcpt_to != NULL && info->rcpt_to[k] != NULL; k++) {
		buf_adds(out, "Original-Rcpt-To: <");
		arf_text(out, info->rcpt_to[k], info);
		buf_adds(out, ">\r\n");
	}
	buf_adds(out, "Arrival-Date: ");
	arf_date(out, info->arrival >= 0 ? info->arrival :
	    ctx_now(r->v->ctx));
	buf_adds(out, "\r\n");
	if (info->reporting_mta != NULL)
		buf_printf(out, "Reporting-MTA: dns; %s\r\n",
		    info->reporting_mta);
	if (info->source_ip != NULL)
		buf_printf(out, "Source-IP: %s\r\n", info->source_ip);
	buf_printf(out, "Reported-Domain: %s\r\n", q->domain);
	/* RFC 9991: the DKIM fields of the signature the report is about;
	 * no canonical copies (RFC 6591 makes them optional, and a
	 * destination may cap the size with !size) */
	if (q->kind == DKK_REPORT_DMARC) {
		if (res != NULL)
			arf_dkim_ids(out, res, info);
		return DKK_OK;
	}
	if (!q->adsp)
		return arf_dkim(out, r, q, info);
	return DKK_OK;
}

/* The third part: the header block as received (RFC 5965 2 (d)). */
static void
arf_headers(struct buf *out, const dkk_verifier *v,
    const struct dkk_report_info *info)
{
	size_t i;

	buf_adds(out, "Content-Type: text/rfc822-headers\r\n\r\n");
	for (i = 0; i < v->hdr.count; i++) {
		const struct field *f = &v->hdr.fields[i];

		if (info->redact_key != NULL)
			arf_redact(out, header_text(&v->hdr, f), f->len, info);
		else
			buf_add(out, header_text(&v->hdr, f), f->len);
		buf_adds(out, "\r\n");
	}
}

/* A tag unlikely to appear in the parts: a hash of what the report is
 * about and when. */
static void
arf_tag(char out[33], const dkk_reports *r, const struct dkk_report_req *q)
{
	static const char hex[] = "0123456789abcdef";
	struct hash h;
	uint8_t d[HASH_MAX];
	int64_t now = ctx_now(r->v->ctx);
	size_t k;

	hash_init(&h, HASH_SHA256);
	hash_update(&h, q->to, strlen(q->to));
	hash_update(&h, &now, sizeof(now));
	hash_update(&h, &q, sizeof(q));
	hash_update(&h, &q->kind, sizeof(q->kind));
	if (q->sig < r->v->nsigs && r->v->sigs[q->sig].res.b != NULL)
		hash_update(&h, r->v->sigs[q->sig].res.b,
		    strlen(r->v->sigs[q->sig].res.b));
	hash_digest(&h, d);
	for (k = 0; k < 16; k++) {
		out[2 * k] = hex[d[k] >> 4];
		out[2 * k + 1] = hex[d[k] & 15];
	}
	out[32] = '\0';
}

static const char *
arf_from_domain(const char *from)
{
	const char *at = strrchr(from, '@');

	return at != NULL ? at + 1 : "invalid";
}

/* The top-level header and the human-readable first part. */
static void
arf_top(struct buf *out, const dkk_reports *r, const struct dkk_report_req *q,
    const struct dkk_report_info *info, const char *tag)
{
	buf_printf(out, "From: <%s>\r\nTo: <%s>\r\n", info->from, q->to);
	buf_printf(out, "Subject: %s failure report for %s\r\n",
	    q->kind == DKK_REPORT_DMARC ? "DMARC" : q->adsp ? "ADSP" : "DKIM",
	    q->domain);
	buf_adds(out, "Date: ");
	arf_date(out, ctx_now(r->v->ctx));
	buf_printf(out, "\r\nMessage-ID: <%s@%s>\r\n", tag,
	    arf_from_domain(info->from));
	/* RFC 3834: no auto-reply is owed to a report. */
	buf_adds(out, "Auto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\n");
	buf_printf(out, "Content-Type: multipart/report; "
	    "report-type=feedback-report;\r\n\tboundary=\"dkk-%s\"\r\n\r\n",
	    tag);
	buf_printf(out, "--dkk-%s\r\nContent-Type: text/plain; "
	    "charset=us-ascii\r\n\r\n", tag);
	if (q->kind == DKK_REPORT_DMARC) {
		buf_printf(out, "A message from %s was evaluated by DMARC "
		    "(RFC 9989) and its fo=%c option asks for this "
		    "report.\r\nThis report was requested by the ruf= tag "
		    "of the domain's DMARC record (RFC 9991).\r\n\r\n",
		    q->domain, q->token);
		return;
	}
	if (q->adsp)
		buf_printf(out, "A message from %s failed its Author Domain "
		    "Signing Practices (RFC 5617).\r\n", q->domain);
	else {
		const struct dkk_sig_result *res = &r->v->sigs[q->sig].res;

		buf_printf(out, "A DKIM signature of %s (s=", q->domain);
		arf_safe(out, res->selector != NULL ? res->selector : "?",
		    res->selector != NULL ? strlen(res->selector) : 1);
		buf_adds(out, ") failed: ");
		if (res->detail != NULL)
			arf_safe(out, res->detail, strlen(res->detail));
		buf_adds(out, ".\r\n");
	}
	buf_adds(out, "This report was requested by the domain's "
	    "_report._domainkey record (RFC 6651).\r\n\r\n");
}

/* Sign the report with the site's key, the field put on top. */
static int
arf_sign(char **msg, const dkk_reports *r, const struct dkk_report_info *info)
{
	struct dkk_sign_opts o;
	dkk_signer *s;
	char *field = NULL, *both;
	size_t n;
	int rc;

	memset(&o, 0, sizeof(o));
	o.key = info->key;
	o.domain = info->sign_domain;
	o.selector = info->sign_selector;
	o.header_canon = o.body_canon = DKK_CANON_RELAXED;
	if ((rc = dkk_signer_new(r->v->ctx, &o, &s)) != DKK_OK)
		return rc;
	if ((rc = dkk_signer_update(s, *msg, strlen(*msg))) == DKK_OK)
		rc = dkk_signer_final(s, 0, &field);
	dkk_signer_free(s);
	if (rc != DKK_OK)
		return rc;
	n = strlen(field) + 2 + strlen(*msg) + 1;
	if ((both = dkk_malloc(n)) == NULL) {
		free(field);
		return DKK_ENOMEM;
	}
	snprintf(both, n, "%s\r\n%s", field, *msg);
	free(field);
	free(*msg);
	*msg = both;
	return DKK_OK;
}

int
dkk_report_build(const dkk_reports *r, size_t i,
    const struct dkk_report_info *info, char **msg)
{
	const struct dkk_report_req *q = dkk_reports_get(r, i);
	struct buf out;
	char tag[33];
	int rc;

	if (q == NULL || q->sampled_out || info == NULL || msg == NULL ||
	    info->from == NULL || info->authserv_id == NULL ||
	    (info->key != NULL && (info->sign_domain == NULL ||
	    info->sign_selector == NULL)))
		return DKK_EINVAL;
	*msg = NULL;
	arf_tag(tag, r, q);
	buf_init(&out);
	arf_top(&out, r, q, info, tag);
	buf_printf(&out, "--dkk-%s\r\n", tag);
	if ((rc = arf_feedback(&out, r, q, info)) != DKK_OK) {
		buf_clear(&out);
		return rc;
	}
	buf_printf(&out, "\r\n--dkk-%s\r\n", tag);
	arf_headers(&out, r->v, info);
	buf_printf(&out, "\r\n--dkk-%s--\r\n", tag);
	if ((*msg = buf_take(&out)) == NULL)
		return DKK_ENOMEM;
	if (info->key != NULL && (rc = arf_sign(msg, r, info)) != DKK_OK) {
		free(*msg);
		*msg = NULL;
	}
	return rc;
}
