/*
 * report.c: delivering what the core's report plan asks for, safely
 * (issue #16, RFC 6651 5 and 8): never with a sender a bounce could come
 * back to (null envelope sender), never over the rate limits (a token
 * bucket per address and one for all, kept across runs in a state file
 * replaced by rename), never to a suppressed address or domain.  The
 * verdict of the message is decided before any of this runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

#define HOUR 3600.0

struct bucket {
	char *addr;		/* "*" for the global bucket */
	double tokens;
	int64_t at;		/* when tokens was last computed */
};

int
report_option(struct report_cli *r, int c, const char *arg)
{
	long long n;

	switch (c) {
	case O_REP_ON: r->on = 1; return 1;
	case O_REP_DIR: r->dir = arg; break;
	case O_REP_FROM: r->from = arg; break;
	case O_REP_SENDMAIL: r->sendmail = arg; break;
	case O_REP_SMTP:
		if (strchr(arg, ':') == NULL) {
			warnx("--report-smtp '%s': HOST:PORT wanted", arg);
			return -1;
		}
		r->smtp = arg;
		break;
	case O_REP_STATE: r->state = arg; break;
	case O_REP_SUPPRESS: r->suppress = arg; break;
	case O_REP_REDACT: r->redact_file = arg; break;
	case O_REP_KEY: r->key_file = arg; break;
	case O_REP_DOMAIN: r->sign_domain = arg; break;
	case O_REP_SELECTOR: r->sign_selector = arg; break;
	case O_REP_RATE:
	case O_REP_GLOBAL:
		if (parse_int64(arg, 0, 1000000, &n) != 0) {
			warnx("bad report rate '%s' (reports per hour)", arg);
			return -1;
		}
		*(c == O_REP_RATE ? &r->per_addr : &r->global) = (double)n;
		break;
	case O_REP_SEED:
		if (parse_int64(arg, 0, INT64_MAX, &n) != 0) {
			warnx("bad --report-seed '%s'", arg);
			return -1;
		}
		r->seed = (uint64_t)n ^ 0x9e3779b97f4a7c15ULL;
		r->have_seed = 1;
		break;
	default:
		return 0;
	}
	r->on = 1;
	return 1;
}

/* A whole small file, NUL-terminated. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	size_t cap = 0, n = 0, k;

	if (f == NULL)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			char *q = realloc(p, cap = cap * 2 + 4096 + 1);

			if (q == NULL) {
				free(p);
				fclose(f);
				return NULL;
			}
			p = q;
		}
		k = fread(p + n, 1, cap - n - 1, f);
		n += k;
	} while (k > 0);
	if (ferror(f) || p == NULL) {
		free(p);
		fclose(f);
		return NULL;
	}
	fclose(f);
	p[n] = '\0';
	if (len != NULL)
		*len = n;
	return p;
}

static int
bucket_add(struct report_cli *r, const char *addr, double tokens, int64_t at)
{
	struct bucket *b = realloc(r->buckets, (r->nbuckets + 1) *
	    sizeof(*b));

	if (b == NULL)
		return -1;
	r->buckets = b;
	b = &r->buckets[r->nbuckets];
	if ((b->addr = strdup(addr)) == NULL)
		return -1;
	b->tokens = tokens;
	b->at = at;
	r->nbuckets++;
	return 0;
}

/* The state file: "ADDRESS TOKENS UNIXTIME" per line.  A line that does
 * not read is dropped: a bucket forgotten is full, not empty, so a
 * damaged file can cost at most one report per address. */
static int
state_load(struct report_cli *r)
{
	char *text, *line, *save = NULL;
	char addr[512];
	double tokens;
	long long at;

	if (r->state == NULL)
		return 0;
	if ((text = slurp(r->state, NULL)) == NULL)
		return errno == ENOENT ? 0 : (warnx("%s: %s", r->state,
		    strerror(errno)), -1);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%511s %lf %lld", addr, &tokens, &at) == 3 &&
		    bucket_add(r, addr, tokens, at) != 0)
			break;
	free(text);
	return 0;
}

static void
state_save(const struct report_cli *r)
{
	char tmp[4096];
	FILE *f;
	size_t i;

	if (r->state == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", r->state, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL) {
		warnx("%s: %s", tmp, strerror(errno));
		return;
	}
	for (i = 0; i < r->nbuckets; i++)
		fprintf(f, "%s %.6f %lld\n", r->buckets[i].addr,
		    r->buckets[i].tokens, (long long)r->buckets[i].at);
	/* Written whole, then renamed over the old one: a crash leaves
	 * either state, never half of one. */
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 ||
	    rename(tmp, r->state) != 0) {
		warnx("%s: %s", r->state, strerror(errno));
		unlink(tmp);
	}
}

static int
suppress_load(struct report_cli *r)
{
	char *text, *line, *save = NULL;

	if (r->suppress == NULL)
		return 0;
	if ((text = slurp(r->suppress, NULL)) == NULL) {
		warnx("%s: %s", r->suppress, strerror(errno));
		return -1;
	}
	for (line = strtok_r(text, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		char **s;

		line += strspn(line, " \t");
		if (*line == '#' || *line == '\0')
			continue;
		line[strcspn(line, " \t")] = '\0';
		if ((s = realloc(r->suppressed, (r->nsuppressed + 1) *
		    sizeof(*s))) == NULL)
			break;
		r->suppressed = s;
		if ((s[r->nsuppressed] = strdup(line)) != NULL)
			r->nsuppressed++;
	}
	free(text);
	return 0;
}

int
report_setup(dkk_ctx *ctx, struct report_cli *r)
{
	size_t n;
	int rc;

	if (!r->on)
		return 0;
	if (r->from == NULL)
		r->from = "postmaster@localhost";
	if (r->per_addr == 0)
		r->per_addr = 1;	/* issue #16: one an hour */
	if (r->global == 0)
		r->global = 100;
	if (r->redact_file != NULL) {
		if ((r->redact = (uint8_t *)slurp(r->redact_file, &n)) ==
		    NULL || n == 0) {
			warnx("%s: %s", r->redact_file, n == 0 && r->redact ?
			    "empty key file" : strerror(errno));
			return -1;
		}
		r->redact_len = n;
	}
	if (r->key_file != NULL) {
		if (r->sign_domain == NULL || r->sign_selector == NULL) {
			warnx("--report-key needs --report-domain and "
			    "--report-selector");
			return -1;
		}
		if ((rc = dkk_ctx_load_key(ctx, r->key_file, &r->key)) !=
		    DKK_OK) {
			warnx("%s", *dkk_ctx_error(ctx) ? dkk_ctx_error(ctx) :
			    dkk_strerror(rc));
			return -1;
		}
	}
	if (state_load(r) != 0 || suppress_load(r) != 0)
		return -1;
	return 0;
}

void
report_finish(struct report_cli *r)
{
	size_t i;

	if (!r->on)
		return;
	state_save(r);
	for (i = 0; i < r->nbuckets; i++)
		free(r->buckets[i].addr);
	for (i = 0; i < r->nsuppressed; i++)
		free(r->suppressed[i]);
	free(r->buckets);
	free(r->suppressed);
	free(r->redact);
}

static int
suppressed(const struct report_cli *r, const char *to)
{
	const char *d = strrchr(to, '@');
	size_t i;

	for (i = 0; i < r->nsuppressed; i++)
		if (strcasecmp(r->suppressed[i], to) == 0 ||
		    (d != NULL && strcasecmp(r->suppressed[i], d + 1) == 0))
			return 1;
	return 0;
}

/* A token bucket of capacity rate, refilled at rate per hour, brought
 * up to now; NULL without memory. */
static struct bucket *
bucket_get(struct report_cli *r, const char *addr, double rate, int64_t now)
{
	struct bucket *b = NULL;
	size_t i;

	for (i = 0; i < r->nbuckets && b == NULL; i++)
		if (strcasecmp(r->buckets[i].addr, addr) == 0)
			b = &r->buckets[i];
	if (b == NULL) {
		if (bucket_add(r, addr, rate, now) != 0)
			return NULL;
		b = &r->buckets[r->nbuckets - 1];
	}
	if (now > b->at)
		b->tokens += rate * (double)(now - b->at) / HOUR;
	if (b->tokens > rate)
		b->tokens = rate;
	b->at = now;
	return b;
}

/* A report may go when the address's bucket and the global one both
 * hold a token; only then is one taken from each. */
static int
rate_ok(struct report_cli *r, const char *to)
{
	int64_t now = (int64_t)time(NULL);
	struct bucket *a, *g;

	if ((a = bucket_get(r, to, r->per_addr, now)) == NULL ||
	    a->tokens < 1)
		return 0;
	/* bucket_get may move the array: look the address up again */
	if ((g = bucket_get(r, "*", r->global, now)) == NULL ||
	    g->tokens < 1 ||
	    (a = bucket_get(r, to, r->per_addr, now)) == NULL)
		return 0;
	a->tokens -= 1;
	g->tokens -= 1;
	return 1;
}

/* DIR/<time>.<pid>.<n>.eml, made under another name and renamed, so a
 * reader of DIR never sees half a report. */
static int
deliver_dir(struct report_cli *r, const char *msg)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%lld.%ld.%zu.eml", r->dir,
	    (long long)time(NULL), (long)getpid(), r->written++);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "wx")) == NULL) {
		warnx("%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fputs(msg, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		warnx("%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* sendmail -t -f '': recipients from To:, the null envelope sender
 * (RFC 6651 5: reports must not bounce back into a loop).  The message
 * goes with LF line ends, as a local submission takes it. */
static int
deliver_sendmail(const struct report_cli *r, const char *msg)
{
	const char *path = r->sendmail ? r->sendmail : "/usr/sbin/sendmail";
	int fd[2], status;
	pid_t pid;
	FILE *f;
	const char *p;

	if (pipe(fd) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fd[0], 0);
		close(fd[0]);
		close(fd[1]);
		execl(path, path, "-t", "-f", "", (char *)NULL);
		_exit(127);
	}
	close(fd[0]);
	if ((f = fdopen(fd[1], "w")) == NULL) {
		close(fd[1]);
		waitpid(pid, &status, 0);
		return -1;
	}
	for (p = msg; *p != '\0'; p++)
		if (!(*p == '\r' && p[1] == '\n'))
			putc(*p, f);
	fclose(f);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		warnx("%s: the report was not accepted", path);
		return -1;
	}
	return 0;
}

/* xorshift64*: reproducible draws for --report-seed (tests only). */
static uint32_t
seeded_random(void *arg)
{
	uint64_t *s = arg;

	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

static void
json_entry(FILE *out, const struct dkk_report_req *q, const char *status,
    int first)
{
	if (!first)
		fputc(',', out);
	fputs("{\"to\":", out);
	json_string(out, q->to);
	fputs(",\"domain\":", out);
	json_string(out, q->domain);
	fprintf(out, ",\"reason_token\":\"%c\",\"adsp\":%s,\"status\":\"%s\"}",
	    q->token, q->adsp ? "true" : "false", status);
}

/* What becomes of one request. */
static const char *
report_one(dkk_reports *plan, size_t i, const struct dkk_report_info *info,
    struct report_cli *r)
{
	const struct dkk_report_req *q = dkk_reports_get(plan, i);
	char *msg = NULL;
	int rc;

	if (q->sampled_out)
		return "sampled_out";
	if (suppressed(r, q->to))
		return "suppressed";
	if (!rate_ok(r, q->to))
		return "rate_limited";
	if ((rc = dkk_report_build(plan, i, info, &msg)) != DKK_OK) {
		warnx("report to %s: %s", q->to, dkk_strerror(rc));
		return "failed";
	}
	if (r->dir != NULL)
		rc = deliver_dir(r, msg);
	else if (r->smtp != NULL)
		rc = report_smtp(r->smtp, info->authserv_id, q->to, msg);
	else
		rc = deliver_sendmail(r, msg);
	free(msg);
	if (rc != 0)
		return "failed";
	return r->dir != NULL ? "written" : "sent";
}

char *
report_message(dkk_verifier *v, const char *msg, size_t len,
    const struct dkk_spf_query *smtp, const char *authserv_id,
    struct report_cli *r)
{
	struct dkk_report_opts ro = { .adsp = 1 };
	struct dkk_report_info info = { .from = r->from,
	    .authserv_id = authserv_id, .arrival = -1, .message = msg,
	    .message_len = len, .redact_key = r->redact,
	    .redact_key_len = r->redact_len, .key = r->key,
	    .sign_domain = r->sign_domain, .sign_selector = r->sign_selector,
	    .source_ip = smtp->client_ip, .mail_from = smtp->mail_from,
	    .reporting_mta = authserv_id };
	dkk_reports *plan = NULL;
	char *json = NULL;
	size_t jlen = 0, i;
	FILE *out = open_memstream(&json, &jlen);
	int rc;

	if (out == NULL)
		return NULL;
	if (r->have_seed) {
		ro.random = seeded_random;
		ro.random_arg = &r->seed;
	}
	fputc('[', out);
	if ((rc = dkk_reports_new(v, &ro, &plan)) != DKK_OK ||
	    (rc = dkk_reports_wait(plan)) != DKK_OK)
		warnx("reports: %s", dkk_strerror(rc));
	for (i = 0; rc == DKK_OK && i < dkk_reports_count(plan); i++)
		json_entry(out, dkk_reports_get(plan, i),
		    report_one(plan, i, &info, r), i == 0);
	fputc(']', out);
	dkk_reports_free(plan);
	if (fclose(out) != 0) {
		free(json);
		return NULL;
	}
	return json;
}

/* One rr= element a signer may publish (RFC 6651 3.1). */
static int
rr_element_ok(const char *s, size_t n)
{
	static const char *const tokens[] = { "all", "d", "o", "p", "s", "u",
	    "v", "x" };
	size_t i;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		if (strlen(tokens[i]) == n && strncmp(s, tokens[i], n) == 0)
			return 1;
	return 0;
}

/* The publisher's side is stricter than the reader's: only the four
 * tags of RFC 6651 3.1 (a typo such as the pre-RFC ro= would otherwise
 * be ignored by every verifier) and only the tokens it defines. */
static int
report_spec_check(const char *spec)
{
	const char *p = spec, *semi, *eq, *v;
	size_t n, k;

	while (*p != '\0') {
		p += strspn(p, " \t");
		semi = strchr(p, ';');
		n = semi ? (size_t)(semi - p) : strlen(p);
		if (n > 0) {
			if ((eq = memchr(p, '=', n)) == NULL)
				return warnx("'%.*s' is not tag=value",
				    (int)n, p), -1;
			k = (size_t)(eq - p);
			while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
				k--;
			if (k != 2 || p[0] != 'r' || strchr("aprs", p[1]) ==
			    NULL)
				return warnx("'%.*s': RFC 6651 defines ra, rp, "
				    "rr and rs", (int)k, p), -1;
			for (v = eq + 1; p[1] == 'r' && v <= p + n; v++) {
				const char *e = memchr(v, ':', (size_t)(p +
				    n - v));

				if (e == NULL)
					e = p + n;
				if (!rr_element_ok(v, (size_t)(e - v)))
					return warnx("rr=: '%.*s' is not a "
					    "token of RFC 6651 3.1", (int)(e -
					    v), v), -1;
				v = e;
			}
		}
		p += n + (semi != NULL);
	}
	return 0;
}

int
report_record_check(const char *spec)
{
	struct dkk_report_record rec;

	if (report_spec_check(spec) != 0)
		return -1;
	if (dkk_report_record_parse(spec, strlen(spec), 0, &rec) != DKK_OK) {
		warnx("--report '%s': not a valid _report record (rp= 0 to "
		    "100, ra= a local part)", spec);
		return -1;
	}
	if (rec.ra == NULL) {
		dkk_report_record_clear(&rec);
		warnx("--report '%s': without ra= no report can be sent", spec);
		return -1;
	}
	dkk_report_record_clear(&rec);
	return 0;
}

void
report_record_print(FILE *out, const char *domain, const char *spec)
{
	fprintf(out, "_report._domainkey.%s. 3600 IN TXT \"%s\"\n", domain,
	    spec);
}
