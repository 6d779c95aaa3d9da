/*
 * key.c: dkimkit key: a key directory per domain and the rotation steps
 * new, check, switch, retire and purge (dkimkit-key(1) has the layout).
 *
 *	DIR/DOMAIN/SELECTOR.key		private key, 0600
 *	DIR/DOMAIN/SELECTOR.txt		its record, a zone-file line
 *	DIR/DOMAIN/SELECTOR.retired	Unix time of its retirement
 *	DIR/DOMAIN/active		the selector to sign with
 *
 * The one rule: the active file only ever names a selector whose record
 * was found published and matching, so nothing signs with a key that
 * verifiers cannot find.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

#define KEY_DEFAULT_DIR	"/etc/dkimkit/keys"
#define KEY_GRACE	(7 * 86400LL)
#define KEY_MAXSEL	256

static const char key_usage[] =
    "usage: dkimkit key [--keydir DIR] new [--algorithm rsa|ed25519]\n"
    "                   [--bits N] DOMAIN\n"
    "       dkimkit key [--keydir DIR] check [--dns ADDR[@PORT]\n"
    "                   [--trust-anchor FILE] | --zone FILE] DOMAIN\n"
    "       dkimkit key [--keydir DIR] switch [--dns ADDR[@PORT]\n"
    "                   [--trust-anchor FILE] | --zone FILE] DOMAIN SELECTOR\n"
    "       dkimkit key [--keydir DIR] retire [--grace TIME] DOMAIN SELECTOR\n"
    "       dkimkit key [--keydir DIR] purge [--grace TIME] DOMAIN\n"
    "       dkimkit key [--keydir DIR] record [--key FILE|pkcs11:URI]\n"
    "                   [--pin-file FILE]\n"
    "                   [--report 'ra=...; rp=...; rr=...; rs=...']\n"
    "                   DOMAIN SELECTOR\n"
    "       dkimkit key atps-record --domain AUTHOR --signer SIGNER\n"
    "                   [--hash none|sha1|sha256]\n"
    "\n"
    "Keep a domain's keys in DIR/DOMAIN (default DIR: $DKIMKIT_KEYDIR, else\n"
    "/etc/dkimkit/keys) and rotate them without signing with an unpublished\n"
    "key:\n"
    "  new      make a key pair and a selector named for the month (YYYY-MM,\n"
    "           then YYYY-MM-2, ...); print its zone-file line\n"
    "  check    look every selector up in DNS: ok, missing, differs,\n"
    "           revoked; exit 0 only when each is as its role asks\n"
    "  switch   sign with SELECTOR from now on; refused unless its record\n"
    "           is published and matches the key\n"
    "  retire   mark a selector retired (never the active one) and print\n"
    "           the record that revokes it\n"
    "  purge    delete the private keys retired for longer than --grace\n"
    "           (retire does this too)\n"
    "  record   print the zone-file line of a key (a token's too); with\n"
    "           --report, the _report._domainkey line beside it that asks\n"
    "           for failure reports (RFC 6651; sign with --report-request)\n"
    "  atps-record  print the ATPS record (RFC 6541) AUTHOR publishes to\n"
    "           let SIGNER sign for it (see dkimkit key atps-record --help)\n"
    "\n"
    "  --algorithm A   rsa (default) or ed25519\n"
    "  --bits N        RSA modulus size, 1024 to 8192 (default 2048)\n"
    "  --dns ADDR[@PORT], --zone FILE, --timeout TIME (ms, or 5s)\n"
    "                  where to look records up (default: the system's\n"
    "                  resolver)\n"
    "  --trust-anchor FILE\n"
    "                  validate answers with DNSSEC from this anchor; a\n"
    "                  record that fails validation is temperror\n"
    "  --grace TIME    keep retired keys this long: N, Ns, Nm, Nh or Nd\n"
    "                  (default 7d)\n"
    "  --now UNIXTIME  the time to name selectors and judge --grace by\n"
    "\n"
    "Exit status: 0 done (check: all as expected), 1 refused (check:\n"
    "something to do), 2 usage, input or internal error.  See\n"
    "dkimkit-key(1).\n";

struct kopts {
	const char *dir;		/* DIR/DOMAIN */
	const char *keydir;
	const char *domain;
	const char *alg;
	long long bits;
	long long grace;
	long long now;
	const char *keysrc;
	const char *pinfile;
	const char *report;		/* --report: the _report record */
	struct source_opts src;
};

/* A selector as key check sees it. */
struct ksel {
	char name[KEY_MAXSEL];
	int has_key;
	int retired;
	long long retired_at;
};

static char *
key_path(const struct kopts *o, const char *sel, const char *ext)
{
	char *p;

	if (asprintf(&p, "%s/%s%s", o->dir, sel, ext) < 0)
		return NULL;
	return p;
}

static int
key_exists(const struct kopts *o, const char *sel, const char *ext)
{
	char *p = key_path(o, sel, ext);
	int yes = p != NULL && access(p, F_OK) == 0;

	free(p);
	return yes;
}

/* The first line of a file, without its line end; -1 when unreadable. */
static int
key_read_line(const char *path, char *line, size_t size)
{
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(line, (int)size, f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return 0;
}

static void
key_retired(const struct kopts *o, struct ksel *s)
{
	char line[64], *p = key_path(o, s->name, ".retired");
	long long t;

	s->retired = p != NULL && key_read_line(p, line, sizeof(line)) == 0;
	s->retired_at = s->retired && parse_int64(line, 0, 1LL << 40, &t) ==
	    0 ? t : 0;
	free(p);
}

/* The active selector, "" when there is none. */
static void
key_active(const struct kopts *o, char *sel, size_t size)
{
	char *p = key_path(o, "active", "");

	if (p == NULL || key_read_line(p, sel, size) != 0 ||
	    !dkk_keydir_name_valid(sel))
		sel[0] = '\0';
	free(p);
}

static int
ksel_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ksel *)a)->name,
	    ((const struct ksel *)b)->name);
}

/* Every selector with a .key or a .txt, sorted by name (so by date). */
static int
key_list(const struct kopts *o, struct ksel **out, size_t *n)
{
	struct ksel *v = NULL, *nv;
	struct dirent *de;
	size_t cap = 0, i, len;
	DIR *d;
	char *dot;

	*n = 0;
	if ((d = opendir(o->dir)) == NULL) {
		warnx("%s: %s", o->dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if ((dot = strrchr(de->d_name, '.')) == NULL ||
		    (strcmp(dot, ".key") != 0 && strcmp(dot, ".txt") != 0))
			continue;
		len = (size_t)(dot - de->d_name);
		if (len == 0 || len >= KEY_MAXSEL)
			continue;
		for (i = 0; i < *n; i++)
			if (strncmp(v[i].name, de->d_name, len) == 0 &&
			    v[i].name[len] == '\0')
				break;
		if (i < *n)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				closedir(d);
				warnx("out of memory");
				return -1;
			}
			v = nv;
		}
		memset(&v[*n], 0, sizeof(v[*n]));
		memcpy(v[*n].name, de->d_name, len);
		(*n)++;
	}
	closedir(d);
	for (i = 0; i < *n; i++) {
		v[i].has_key = key_exists(o, v[i].name, ".key");
		key_retired(o, &v[i]);
	}
	if (*n > 0)
		qsort(v, *n, sizeof(*v), ksel_cmp);
	*out = v;
	return 0;
}

static int64_t
key_clock(void *arg)
{
	return *(const long long *)arg;
}

static dkk_ctx *
key_ctx(const struct kopts *o, int dns)
{
	dkk_ctx *ctx;
	int rc;

	if (dkk_ctx_new(&ctx) != DKK_OK) {
		warnx("out of memory");
		return NULL;
	}
	dkk_ctx_set_clock(ctx, key_clock, (void *)&o->now);
	if ((rc = pin_setup(ctx, o->pinfile)) != DKK_OK)
		ctx_warn(ctx);
	if (rc != DKK_OK || (dns && source_setup(ctx, &o->src) != 0)) {
		dkk_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

/* The selector's private key, or NULL (a warning when complain). */
static dkk_key *
key_load(dkk_ctx *ctx, const struct kopts *o, const char *sel, int complain)
{
	char *p = key_path(o, sel, ".key");
	dkk_key *key = NULL;
	int rc;

	if (p == NULL)
		return NULL;
	if (complain || access(p, F_OK) == 0) {
		rc = dkk_ctx_load_key(ctx, p, &key);
		if (rc != DKK_OK) {
			ctx_warn(ctx);
			key = NULL;
		}
	}
	free(p);
	return key;
}

/* ---- new ---- */

/* "2026-11", then "2026-11-2", ... for the month of o->now (UTC). */
static int
key_new_selector(const struct kopts *o, char *sel, size_t size)
{
	time_t t = (time_t)o->now;
	struct tm tm;
	char month[16];
	int i;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(month, sizeof(month), "%Y-%m", &tm) == 0)
		return -1;
	for (i = 1; i < 100; i++) {
		if (i == 1)
			snprintf(sel, size, "%s", month);
		else
			snprintf(sel, size, "%s-%d", month, i);
		if (!key_exists(o, sel, ".key") &&
		    !key_exists(o, sel, ".txt") &&
		    !key_exists(o, sel, ".retired"))
			return 0;
	}
	warnx("%s: no free selector for %s", o->dir, month);
	return -1;
}

static int
key_mkdirs(const struct kopts *o)
{
	if (mkdir(o->keydir, 0755) != 0 && errno != EEXIST) {
		warnx("%s: %s", o->keydir, strerror(errno));
		return -1;
	}
	if (mkdir(o->dir, 0750) != 0 && errno != EEXIST) {
		warnx("%s: %s", o->dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
key_write_record(const struct kopts *o, const char *sel, const char *type,
    const char *p64)
{
	char *p = key_path(o, sel, ".txt");
	FILE *f = p != NULL ? fopen(p, "wx") : NULL;
	int rc = 0;

	if (f == NULL) {
		warnx("%s: %s", p != NULL ? p : o->dir, strerror(errno));
		free(p);
		return -1;
	}
	print_record(f, sel, o->domain, type, p64);
	if (fclose(f) != 0) {
		warnx("%s: %s", p, strerror(errno));
		rc = -1;
	}
	free(p);
	return rc;
}

static int
key_new(const struct kopts *o)
{
	char sel[KEY_MAXSEL], *p64 = NULL, *path = NULL;
	dkk_ctx *ctx;
	int ret = EXIT_TROUBLE;

	if (key_mkdirs(o) != 0 || key_new_selector(o, sel, sizeof(sel)) != 0 ||
	    (ctx = key_ctx(o, 0)) == NULL)
		return EXIT_TROUBLE;
	if ((path = key_path(o, sel, ".key")) == NULL)
		warnx("out of memory");
	else if (new_key(ctx, o->alg, (unsigned)o->bits, path, &p64) == 0 &&
	    key_write_record(o, sel, o->alg, p64) == 0) {
		print_record(stdout, sel, o->domain, o->alg, p64);
		ret = fflush(stdout) == 0 ? 0 : EXIT_TROUBLE;
	}
	free(p64);
	free(path);
	dkk_ctx_free(ctx);
	return ret;
}

/* ---- check ---- */

/* What a selector's role asks of its record: active and pending keys
 * published as they are, retired ones revoked or gone. */
static int
key_as_expected(const struct ksel *s, enum dkk_record_state st)
{
	if (s->retired)
		return st == DKK_RECORD_REVOKED || st == DKK_RECORD_MISSING;
	return st == DKK_RECORD_MATCH;
}

static const char *
key_advice(const struct ksel *s, enum dkk_record_state st, int active)
{
	if (st == DKK_RECORD_TEMPERROR)
		return "DNS trouble: try again";
	if (s->retired)
		return st == DKK_RECORD_REVOKED || st == DKK_RECORD_MISSING ?
		    "" : "still published: publish the revocation";
	switch (st) {
	case DKK_RECORD_MATCH:
		return active ? "signing" : "ready for key switch";
	case DKK_RECORD_MISSING:
		return "publish its .txt record";
	case DKK_RECORD_DIFFERS:
		return "the published key is another one";
	case DKK_RECORD_REVOKED:
		return "revoked in DNS but not retired";
	default:
		return "no private key to compare with";
	}
}

static void
key_when(long long t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%lld", t);
}

/* One line per selector; 0 all as expected, 1 not, 2 trouble. */
static int
key_check_one(dkk_ctx *ctx, const struct kopts *o, const struct ksel *s,
    const char *active)
{
	enum dkk_record_state st;
	dkk_key *key = s->has_key ? key_load(ctx, o, s->name, 1) : NULL;
	int is_active = strcmp(s->name, active) == 0, rc;
	char when[32];

	if (s->has_key && key == NULL)
		return EXIT_TROUBLE;
	rc = dkk_record_check(ctx, s->name, o->domain, key, &st);
	dkk_key_free(key);
	if (rc != DKK_OK) {
		ctx_warn(ctx);
		return EXIT_TROUBLE;
	}
	printf("%-12s %-8s %-10s %s", s->name, is_active ? "active" :
	    s->retired ? "retired" : "pending", dkk_record_state_name(st),
	    key_advice(s, st, is_active));
	if (s->retired) {
		key_when(s->retired_at, when, sizeof(when));
		printf("%sretired %s%s", *key_advice(s, st, 0) ? "; " : "",
		    when, s->has_key ? "" : ", key removed");
	}
	putchar('\n');
	if (st == DKK_RECORD_TEMPERROR)
		return EXIT_TROUBLE;
	return key_as_expected(s, st) ? 0 : EXIT_NOPASS;
}

static int
key_check(const struct kopts *o)
{
	char active[KEY_MAXSEL];
	struct ksel *v;
	size_t n, i;
	dkk_ctx *ctx;
	int rc, ret = 0;

	if (key_list(o, &v, &n) != 0)
		return EXIT_TROUBLE;
	if ((ctx = key_ctx(o, 1)) == NULL) {
		free(v);
		return EXIT_TROUBLE;
	}
	key_active(o, active, sizeof(active));
	for (i = 0; i < n; i++) {
		rc = key_check_one(ctx, o, &v[i], active);
		if (rc > ret)
			ret = rc;
	}
	if (*active == '\0') {
		printf("%s: no active selector: publish one, then key switch\n",
		    o->domain);
		if (ret == 0)
			ret = EXIT_NOPASS;
	}
	free(v);
	dkk_ctx_free(ctx);
	return ret;
}

/* ---- switch ---- */

/* Replace the active file by rename: readers see the old or the new
 * selector, never a half-written one, and the new inode tells them. */
static int
key_set_active(const struct kopts *o, const char *sel)
{
	char *tmp = key_path(o, ".active", ".tmp");
	char *path = key_path(o, "active", "");
	FILE *f = tmp != NULL ? fopen(tmp, "w") : NULL;
	int ok;

	ok = f != NULL && fprintf(f, "%s\n", sel) > 0;
	if (f != NULL && (fflush(f) != 0 || fsync(fileno(f)) != 0))
		ok = 0;
	if (f != NULL && fclose(f) != 0)
		ok = 0;
	if (ok && (path == NULL || rename(tmp, path) != 0))
		ok = 0;
	if (!ok) {
		warnx("%s: %s", path != NULL ? path : o->dir, strerror(errno));
		if (tmp != NULL)
			unlink(tmp);
	}
	free(tmp);
	free(path);
	return ok ? 0 : -1;
}

static int
key_switch(const struct kopts *o, const char *sel)
{
	enum dkk_record_state st;
	char active[KEY_MAXSEL];
	struct ksel s;
	dkk_ctx *ctx;
	dkk_key *key;
	int rc, ret = EXIT_TROUBLE;

	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", sel);
	key_retired(o, &s);
	if (s.retired) {
		warnx("%s: %s is retired", o->domain, sel);
		return EXIT_NOPASS;
	}
	if ((ctx = key_ctx(o, 1)) == NULL)
		return EXIT_TROUBLE;
	if ((key = key_load(ctx, o, sel, 1)) == NULL) {
		dkk_ctx_free(ctx);
		return EXIT_TROUBLE;
	}
	key_active(o, active, sizeof(active));
	if ((rc = dkk_record_check(ctx, sel, o->domain, key, &st)) != DKK_OK)
		ctx_warn(ctx);
	else if (st != DKK_RECORD_MATCH) {
		warnx("%s: refusing to switch to %s: its record is %s in DNS "
		    "(%s._domainkey.%s)", o->domain, sel,
		    dkk_record_state_name(st), sel, o->domain);
		ret = st == DKK_RECORD_TEMPERROR ? EXIT_TROUBLE : EXIT_NOPASS;
	} else if (key_set_active(o, sel) == 0) {
		printf("%s: signing with %s from now on%s%s%s\n", o->domain,
		    sel, *active ? " (was " : "", active, *active ? ")" : "");
		ret = 0;
	}
	dkk_ctx_free(ctx);
	return ret;
}

/* ---- retire and purge ---- */

/* Delete the private keys of selectors retired at least o->grace ago. */
static int
key_purge(const struct kopts *o)
{
	struct ksel *v;
	size_t n, i;
	char *p, when[32];
	int ret = 0;

	if (key_list(o, &v, &n) != 0)
		return EXIT_TROUBLE;
	for (i = 0; i < n; i++) {
		if (!v[i].retired || !v[i].has_key ||
		    o->now - v[i].retired_at < o->grace)
			continue;
		if ((p = key_path(o, v[i].name, ".key")) == NULL ||
		    unlink(p) != 0) {
			warnx("%s: %s", p ? p : o->dir, strerror(errno));
			ret = EXIT_TROUBLE;
		} else {
			key_when(v[i].retired_at, when, sizeof(when));
			printf("%s: removed the private key of %s (retired "
			    "%s)\n", o->domain, v[i].name, when);
		}
		free(p);
	}
	free(v);
	return ret;
}

/* k= of the selector's record, from its .txt file (the key may be gone). */
static const char *
key_type_of(const struct kopts *o, const char *sel)
{
	char line[4096], *p = key_path(o, sel, ".txt");
	const char *type = "rsa";

	if (p != NULL && key_read_line(p, line, sizeof(line)) == 0 &&
	    strstr(line, "k=ed25519") != NULL)
		type = "ed25519";
	free(p);
	return type;
}

static int
key_mark_retired(const struct kopts *o, const char *sel)
{
	char *p = key_path(o, sel, ".retired");
	FILE *f = p != NULL ? fopen(p, "wx") : NULL;
	int ok = f != NULL && fprintf(f, "%lld\n", o->now) > 0;

	if (f != NULL && fclose(f) != 0)
		ok = 0;
	if (!ok)
		warnx("%s: %s", p != NULL ? p : o->dir, strerror(errno));
	free(p);
	return ok ? 0 : -1;
}

static int
key_retire(const struct kopts *o, const char *sel)
{
	char active[KEY_MAXSEL];
	struct ksel s;

	key_active(o, active, sizeof(active));
	if (strcmp(active, sel) == 0) {
		warnx("%s: %s is the active selector: switch to another first",
		    o->domain, sel);
		return EXIT_NOPASS;
	}
	if (!key_exists(o, sel, ".txt") && !key_exists(o, sel, ".key")) {
		warnx("%s: no selector %s in %s", o->domain, sel, o->dir);
		return EXIT_TROUBLE;
	}
	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", sel);
	key_retired(o, &s);
	if (!s.retired && key_mark_retired(o, sel) != 0)
		return EXIT_TROUBLE;
	print_record(stdout, sel, o->domain, key_type_of(o, sel), "");
	return key_purge(o);
}

/* ---- record ---- */

static int
key_record(const struct kopts *o, const char *sel)
{
	char *p64 = NULL;
	dkk_ctx *ctx;
	dkk_key *key = NULL;
	int rc, ret = EXIT_TROUBLE;

	if (o->report != NULL && report_record_check(o->report) != 0)
		return EXIT_TROUBLE;
	if ((ctx = key_ctx(o, 0)) == NULL)
		return EXIT_TROUBLE;
	if (o->keysrc != NULL) {
		if ((rc = dkk_ctx_load_key(ctx, o->keysrc, &key)) != DKK_OK)
			ctx_warn(ctx);
	} else
		key = key_load(ctx, o, sel, 1);
	if (key != NULL && (rc = dkk_key_public(key, &p64)) != DKK_OK)
		warnx("%s", dkk_strerror(rc));
	else if (key != NULL) {
		print_record(stdout, sel, o->domain, dkk_key_type(key), p64);
		ret = fflush(stdout) == 0 ? 0 : EXIT_TROUBLE;
		if (o->report != NULL)
			report_record_print(stdout, o->domain, o->report);
		ret = fflush(stdout) == 0 ? 0 : EXIT_TROUBLE;
	}
	free(p64);
	dkk_ctx_free(ctx);
	return ret;
}

/* ---- options ---- */

/* N, Ns, Nm, Nh or Nd, in seconds. */
static int
parse_duration(const char *s, long long *out)
{
	static const struct { char unit; long long mul; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }
	};
	char num[32];
	size_t len = strlen(s), i;
	long long mul = 1, v;

	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, s, len + 1);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (num[len - 1] == units[i].unit) {
			mul = units[i].mul;
			num[len - 1] = '\0';
		}
	if (parse_int64(num, 0, (1LL << 40) / mul, &v) != 0)
		return -1;
	*out = v * mul;
	return 0;
}

static int
key_options(int argc, char **argv, struct kopts *o)
{
	enum { O_KEYDIR = 256, O_ALG, O_BITS, O_GRACE, O_NOW, O_KEY, O_PIN,
	    O_HELP, O_REPORT };
	static const struct option longopts[] = {
		{ "keydir", required_argument, NULL, O_KEYDIR },
		{ "algorithm", required_argument, NULL, O_ALG },
		{ "bits", required_argument, NULL, O_BITS },
		SOURCE_LONGOPTS,
		{ "grace", required_argument, NULL, O_GRACE },
		{ "now", required_argument, NULL, O_NOW },
		{ "key", required_argument, NULL, O_KEY },
		{ "pin-file", required_argument, NULL, O_PIN },
		{ "report", required_argument, NULL, O_REPORT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (source_option(&o->src, c, optarg))
			continue;
		switch (c) {
		case O_KEYDIR: o->keydir = optarg; break;
		case O_ALG:
			if (strcmp(optarg, "rsa") != 0 &&
			    strcmp(optarg, "ed25519") != 0)
				return usage_error("key",
				    "unknown algorithm '%s'", optarg);
			o->alg = optarg;
			break;
		case O_BITS:
			if (parse_int64(optarg, 1024, 8192, &o->bits) != 0)
				return usage_error("key",
				    "--bits must be 1024 to 8192, not '%s'",
				    optarg);
			break;
		case O_GRACE:
			if (parse_duration(optarg, &o->grace) != 0)
				return usage_error("key", "bad --grace '%s'",
				    optarg);
			break;
		case O_NOW:
			if (parse_int64(optarg, 0, 253402300799LL, &o->now))
				return usage_error("key", "bad --now '%s'",
				    optarg);
			break;
		case O_KEY: o->keysrc = optarg; break;
		case O_PIN: o->pinfile = optarg; break;
		case O_REPORT: o->report = optarg; break;
		case O_HELP:
			fputs(key_usage, stdout);
			return -1;
		default:
			return usage_error("key", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	return 0;
}

int
cmd_key(int argc, char **argv)
{
	static const struct {
		const char *name;
		int nargs;		/* after DOMAIN */
	} subs[] = {
		{ "new", 0 }, { "check", 0 }, { "switch", 1 },
		{ "retire", 1 }, { "purge", 0 }, { "record", 1 }
	};
	struct kopts o;
	const char *sub, *sel;
	char *dir;
	size_t i;
	int rc;

	if (argc > 1 && strcmp(argv[1], "atps-record") == 0)
		return cmd_key_atps(argc - 1, argv + 1);
	memset(&o, 0, sizeof(o));
	o.alg = "rsa";
	o.bits = 2048;
	o.grace = KEY_GRACE;
	o.now = (long long)time(NULL);
	o.keydir = getenv("DKIMKIT_KEYDIR");
	if ((rc = key_options(argc, argv, &o)) != 0)
		return rc < 0 ? 0 : rc;
	if (o.keydir == NULL || *o.keydir == '\0')
		o.keydir = KEY_DEFAULT_DIR;
	if (optind >= argc)
		return usage_error("key", "which step: new, check, switch, "
		    "retire, purge or record?");
	sub = argv[optind];
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(sub, subs[i].name) == 0)
			break;
	if (i == sizeof(subs) / sizeof(subs[0]))
		return usage_error("key", "unknown step '%s'", sub);
	if (argc - optind != 2 + subs[i].nargs)
		return usage_error("key", "%s takes DOMAIN%s", sub,
		    subs[i].nargs ? " SELECTOR" : "");
	o.domain = argv[optind + 1];
	sel = subs[i].nargs ? argv[optind + 2] : NULL;
	if (!dkk_keydir_name_valid(o.domain))
		return usage_error("key", "'%s' is not a domain name",
		    o.domain);
	if (sel != NULL && !dkk_keydir_name_valid(sel))
		return usage_error("key", "'%s' is not a selector", sel);
	if ((rc = source_check("key", &o.src)) >= 0)
		return rc;
	if (asprintf(&dir, "%s/%s", o.keydir, o.domain) < 0) {
		warnx("out of memory");
		return EXIT_TROUBLE;
	}
	o.dir = dir;
	switch (i) {
	case 0: rc = key_new(&o); break;
	case 1: rc = key_check(&o); break;
	case 2: rc = key_switch(&o, sel); break;
	case 3: rc = key_retire(&o, sel); break;
	case 4: rc = key_purge(&o); break;
	default: rc = key_record(&o, sel); break;
	}
	free(dir);
	return rc;
}
