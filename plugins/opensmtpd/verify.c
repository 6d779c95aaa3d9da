/*
 * verify.c: verifying one message.  Lines are hashed as they arrive; key
 * lookups start when the header block ends and run in the background
 * while the body comes in.  The verdict can wait for DNS: verify_end()
 * then says so and message_dns() calls it again when answers arrive.
 */
#include <stdlib.h>
#include <string.h>

#include "filter.h"

/* One line; -1 with the reason in *why when the verifier refuses it. */
int
verify_line(struct session *s, const char *line, size_t len,
    const char **why)
{
	int rc;

	/* CRLF, not LF: a CR that ends the line is its own ("x\r\r\n"). */
	if ((rc = dkk_verifier_update(s->verifier, line, len)) != DKK_OK ||
	    (rc = dkk_verifier_update(s->verifier, "\r\n", 2)) != DKK_OK) {
		*why = dkk_strerror(rc);
		return -1;
	}
	return 0;
}

/* One log line per message with every verdict (DESIGN: adapters log one
 * line per message); a long list is cut, the A-R field has it all. */
static void
verify_log(struct session *s)
{
	const struct dkk_sig_result *r;
	const char *author = NULL, *detail;
	char line[1024];
	size_t i, n = dkk_verifier_count(s->verifier), len = 0;
	enum dkk_adsp adsp;

	line[0] = '\0';
	for (i = 0; i < n && len < sizeof(line); i++) {
		r = dkk_verifier_result(s->verifier, i);
		len += snprintf(line + len, sizeof(line) - len,
		    "%sdkim=%s d=%s s=%s (%s)", i ? ", " : "",
		    dkk_verdict_name(r->verdict),
		    r->domain ? r->domain : "-", r->selector ? r->selector : "-",
		    r->detail ? r->detail : dkk_reason_name(r->reason));
	}
	if (n == 0 && dkk_verifier_reason(s->verifier, &detail) == DKK_R_LIMIT)
		len = snprintf(line, sizeof(line), "dkim=permerror (%s)",
		    detail);
	else if (n == 0)
		len = snprintf(line, sizeof(line), "dkim=none");
	if (conf.adsp && len < sizeof(line)) {
		adsp = dkk_verifier_adsp(s->verifier, &author);
		snprintf(line + len, sizeof(line) - len, "; dkim-adsp=%s (%s)%s",
		    dkk_adsp_name(adsp), author ? author : "-", s->discard ?
		    (conf.reject ? ": rejected" : ": discardable") : "");
	}
	log_session(s, "%s", line);
}

/* Ours: -i, else the admd smtpd announced, else "localhost". */
const char *
verify_authserv_id(void)
{
	return conf.authserv_id ? conf.authserv_id : "localhost";
}

/* 0 with the Authentication-Results field in *top, 1 while DNS answers
 * are outstanding, -1 on failure. */
int
verify_end(struct session *s, char **top)
{
	int rc;

	if ((rc = dkk_verifier_final(s->verifier)) == DKK_EAGAIN)
		return 1;
	if (rc != DKK_OK) {
		log_session(s, "verify: %s", dkk_strerror(rc));
		return -1;
	}
	/* RFC 5617 5.4: only discard is grounds to refuse; temperror never. */
	if (conf.adsp)
		s->discard = dkk_verifier_adsp(s->verifier, NULL) ==
		    DKK_ADSP_DISCARD;
	verify_log(s);
	if (dkk_verifier_ar(s->verifier, verify_authserv_id(), DKK_FIELD_LF,
	    top) != DKK_OK)
		return -1;
	return 0;
}
