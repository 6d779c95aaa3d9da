/*
 * conf.c: the part of opendkim.conf that decides what is signed, read as
 * OpenDKIM reads it: "Name value" a line, names without regard to case,
 * "#" starting a comment.  Every other name is kept as a warning for the
 * caller to print, so nothing the postmaster wrote goes unmentioned.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define CONF_LINE 4096

static const char *const names[PK_COUNT] = {
	[PK_DOMAIN] = "Domain", [PK_SELECTOR] = "Selector",
	[PK_KEYFILE] = "KeyFile", [PK_KEYTABLE] = "KeyTable",
	[PK_SIGNINGTABLE] = "SigningTable",
	[PK_INTERNALHOSTS] = "InternalHosts",
	[PK_EXTERNALIGNORE] = "ExternalIgnoreList",
	[PK_SUBDOMAINS] = "SubDomains", [PK_MULTISIG] = "MultipleSignatures",
	[PK_CANON] = "Canonicalization", [PK_SIGNHEADERS] = "SignHeaders",
	[PK_OVERSIGN] = "OversignHeaders", [PK_OMIT] = "OmitHeaders",
	[PK_TTL] = "SignatureTTL", [PK_MINBITS] = "MinimumKeyBits",
	[PK_MODE] = "Mode",
	/* dkimkit's own, not OpenDKIM's */
	[PK_REQPUB] = "RequirePublishedKey",
	[PK_REQPUB_TTL] = "PublishedKeyCacheTTL",
};

/* OpenDKIM's settings for running the milter itself: named as such. */
static const char *const daemon_names[] = {
	"Socket", "PidFile", "UserID", "UMask", "Syslog", "SyslogSuccess",
	"SyslogFacility", "LogWhy", "LogResults", "Background", "AutoRestart",
	"AutoRestartCount", "AutoRestartRate", "ChangeRootDirectory",
	"EnableCoredumps", "MilterDebug", "Quarantine", "TemporaryDirectory",
	NULL
};

const char *
pkey_name(enum pkey k)
{
	return names[k];
}

int
policy_warn(dkk_policy *p, const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	char **v;

	if ((v = dkk_realloc(p->warn, (p->nwarn + 1) * sizeof(*v))) == NULL)
		return DKK_ENOMEM;
	p->warn = v;
	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (b.failed || b.p == NULL) {
		buf_clear(&b);
		return DKK_ENOMEM;
	}
	p->warn[p->nwarn++] = buf_take(&b);
	return DKK_OK;
}

static bool
is_daemon_name(const char *name)
{
	size_t i;

	for (i = 0; daemon_names[i] != NULL; i++)
		if (ci_equals(name, strlen(name), daemon_names[i]))
			return true;
	return false;
}

static int
conf_unknown(dkk_policy *p, const char *at, const char *name)
{
	if (is_daemon_name(name))
		return policy_warn(p, "%s: %s: a setting of the OpenDKIM "
		    "daemon, not used by dkimkit", at, name);
	return policy_warn(p, "%s: %s: unknown or unsupported setting, "
	    "ignored", at, name);
}

static int
conf_set(dkk_policy *p, const char *at, const char *name, const char *value)
{
	struct psetting *s;
	size_t k;

	for (k = 0; k < PK_COUNT; k++)
		if (ci_equals(name, strlen(name), names[k]))
			break;
	if (k == PK_COUNT)
		return conf_unknown(p, at, name);
	s = &p->set[k];
	if (s->value != NULL)
		return policy_warn(p, "%s: %s: set again, the first setting "
		    "(%s) counts", at, names[k], s->where);
	if (*value == '\0')
		return ctx_fail(p->ctx, DKK_ESYNTAX, "%s: %s: no value", at,
		    names[k]);
	if ((s->value = dkk_strdup(value)) == NULL ||
	    (s->where = dkk_strdup(at)) == NULL)
		return DKK_ENOMEM;
	return DKK_OK;
}

static int
conf_line(dkk_policy *p, char *line, const char *at)
{
	char *name, *value, *end;

	line[strcspn(line, "#\r\n")] = '\0';
	name = line + strspn(line, " \t");
	if (*name == '\0')
		return DKK_OK;
	value = name + strcspn(name, " \t");
	if (*value != '\0')
		*value++ = '\0';
	value += strspn(value, " \t");
	end = value + strlen(value);
	while (end > value && is_wsp(end[-1]))
		*--end = '\0';
	return conf_set(p, at, name, value);
}

int
policy_conf_read(dkk_policy *p, const char *path)
{
	char line[CONF_LINE], at[CONF_LINE + 32];
	size_t lineno = 0;
	FILE *f;
	int rc = DKK_OK;

	if ((f = fopen(path, "r")) == NULL)
		return ctx_fail(p->ctx, DKK_EIO, "%s: %s", path,
		    strerror(errno));
	while (rc == DKK_OK && fgets(line, sizeof(line), f) != NULL) {
		snprintf(at, sizeof(at), "%s:%zu", path, ++lineno);
		if (strchr(line, '\n') == NULL && !feof(f))
			rc = ctx_fail(p->ctx, DKK_ESYNTAX, "%s: line longer "
			    "than %d bytes", at, CONF_LINE - 2);
		else
			rc = conf_line(p, line, at);
	}
	if (rc == DKK_OK && ferror(f))
		rc = ctx_fail(p->ctx, DKK_EIO, "%s: %s", path,
		    strerror(errno));
	fclose(f);
	return rc;
}
