/*
 * tst-dkim.c: the tests of "vnd.dkimkit".
 *
 *   dkim [:domain <domains: string-list>] [COMPARATOR] [MATCH-TYPE]
 *        <results: string-list>
 *   dkim_adsp [COMPARATOR] [MATCH-TYPE] <results: string-list>
 *   dmarc [:disposition] [COMPARATOR] [MATCH-TYPE] <results: string-list>
 *   spf [COMPARATOR] [MATCH-TYPE] <results: string-list>
 *   arc [:sealer <domains: string-list> / :trusted] [COMPARATOR]
 *       [MATCH-TYPE] <results: string-list>
 *
 * dkim matches the verdict of every DKIM-Signature (only those whose d= is
 * one of the :domain strings, compared without case) against the results;
 * with no such signature the one verdict is "none".  dkim_adsp matches the
 * RFC 5617 result.  dmarc matches the RFC 9989 result, or with :disposition
 * what the policy asks for (none, quarantine, reject); spf the spf= result
 * of the trusted Authentication-Results field; arc the RFC 8617 chain
 * result, where with :sealer (or :trusted, the sealers of
 * dkimkit_trusted_sealers) a passing chain counts as pass only when one of
 * those domains sealed an instance, and as none otherwise.  Comparators and
 * match types are RFC 5228 section 2.7; the default is :is with
 * "i;ascii-casemap".  When the message could not be verified at all, the
 * only value is "temperror"; when its header block is over the core's
 * limits, dkim's only value is "permerror" (and dkim_adsp's is permerror
 * too).  temperror is never turned into another word: a script tests it to
 * keep the message.
 */
#include "lib.h"

#include "sieve-common.h"
#include "sieve-code.h"
#include "sieve-commands.h"
#include "sieve-comparators.h"
#include "sieve-dump.h"
#include "sieve-generator.h"
#include "sieve-interpreter.h"
#include "sieve-match-types.h"
#include "sieve-match.h"
#include "sieve-runtime.h"
#include "sieve-runtime-trace.h"
#include "sieve-stringlist.h"
#include "sieve-validator.h"

#include "ext-dkimkit-common.h"

/* Optional operand codes after the comparator and match type. */
enum tst_dkim_optional {
	OPT_DKIM_DOMAIN = SIEVE_MATCH_OPT_LAST,
	OPT_DISPOSITION,
	OPT_SEALER,
	OPT_TRUSTED
};

/* Which test an operation runs. */
enum tst_kind {
	TST_DKIM,
	TST_ADSP,
	TST_DMARC,
	TST_SPF,
	TST_ARC
};

static bool tst_dkim_registered(struct sieve_validator *valdtr,
    const struct sieve_extension *ext,
    struct sieve_command_registration *cmd_reg);
static bool tst_adsp_registered(struct sieve_validator *valdtr,
    const struct sieve_extension *ext,
    struct sieve_command_registration *cmd_reg);
static bool tst_dmarc_registered(struct sieve_validator *valdtr,
    const struct sieve_extension *ext,
    struct sieve_command_registration *cmd_reg);
static bool tst_arc_registered(struct sieve_validator *valdtr,
    const struct sieve_extension *ext,
    struct sieve_command_registration *cmd_reg);
static bool tag_bare_validate(struct sieve_validator *valdtr,
    struct sieve_ast_argument **arg, struct sieve_command *cmd);
static bool tst_dkim_validate(struct sieve_validator *valdtr,
    struct sieve_command *tst);
static bool tst_dkim_generate(const struct sieve_codegen_env *cgenv,
    struct sieve_command *tst);
static bool tag_domain_validate(struct sieve_validator *valdtr,
    struct sieve_ast_argument **arg, struct sieve_command *cmd);
static bool tag_domain_generate(const struct sieve_codegen_env *cgenv,
    struct sieve_ast_argument *arg, struct sieve_command *cmd);
static bool tst_dkim_dump(const struct sieve_dumptime_env *denv,
    sieve_size_t *address);
static int tst_dkim_execute(const struct sieve_runtime_env *renv,
    sieve_size_t *address);

const struct sieve_command_def dkimkit_dkim_test = {
	.identifier = "dkim",
	.type = SCT_TEST,
	.positional_args = 1,
	.registered = tst_dkim_registered,
	.validate = tst_dkim_validate,
	.generate = tst_dkim_generate
};

const struct sieve_command_def dkimkit_adsp_test = {
	.identifier = "dkim_adsp",
	.type = SCT_TEST,
	.positional_args = 1,
	.registered = tst_adsp_registered,
	.validate = tst_dkim_validate,
	.generate = tst_dkim_generate
};

const struct sieve_command_def dkimkit_dmarc_test = {
	.identifier = "dmarc",
	.type = SCT_TEST,
	.positional_args = 1,
	.registered = tst_dmarc_registered,
	.validate = tst_dkim_validate,
	.generate = tst_dkim_generate
};

const struct sieve_command_def dkimkit_spf_test = {
	.identifier = "spf",
	.type = SCT_TEST,
	.positional_args = 1,
	.registered = tst_adsp_registered,
	.validate = tst_dkim_validate,
	.generate = tst_dkim_generate
};

const struct sieve_command_def dkimkit_arc_test = {
	.identifier = "arc",
	.type = SCT_TEST,
	.positional_args = 1,
	.registered = tst_arc_registered,
	.validate = tst_dkim_validate,
	.generate = tst_dkim_generate
};

static const struct sieve_argument_def dkim_domain_tag = {
	.identifier = "domain",
	.validate = tag_domain_validate,
	.generate = tag_domain_generate
};

/* :sealer takes a list as :domain does. */
static const struct sieve_argument_def arc_sealer_tag = {
	.identifier = "sealer",
	.validate = tag_domain_validate,
	.generate = tag_domain_generate
};

/* Tags without a parameter: the generator emits their operand code. */
static const struct sieve_argument_def dmarc_disposition_tag = {
	.identifier = "disposition",
	.validate = tag_bare_validate
};

static const struct sieve_argument_def arc_trusted_tag = {
	.identifier = "trusted",
	.validate = tag_bare_validate
};

const struct sieve_operation_def dkimkit_dkim_operation = {
	.mnemonic = "DKIM",
	.ext_def = &dkimkit_extension,
	.code = DKIMKIT_OPERATION_DKIM,
	.dump = tst_dkim_dump,
	.execute = tst_dkim_execute
};

const struct sieve_operation_def dkimkit_adsp_operation = {
	.mnemonic = "DKIM_ADSP",
	.ext_def = &dkimkit_extension,
	.code = DKIMKIT_OPERATION_ADSP,
	.dump = tst_dkim_dump,
	.execute = tst_dkim_execute
};

const struct sieve_operation_def dkimkit_dmarc_operation = {
	.mnemonic = "DMARC",
	.ext_def = &dkimkit_extension,
	.code = DKIMKIT_OPERATION_DMARC,
	.dump = tst_dkim_dump,
	.execute = tst_dkim_execute
};

const struct sieve_operation_def dkimkit_spf_operation = {
	.mnemonic = "SPF",
	.ext_def = &dkimkit_extension,
	.code = DKIMKIT_OPERATION_SPF,
	.dump = tst_dkim_dump,
	.execute = tst_dkim_execute
};

const struct sieve_operation_def dkimkit_arc_operation = {
	.mnemonic = "ARC",
	.ext_def = &dkimkit_extension,
	.code = DKIMKIT_OPERATION_ARC,
	.dump = tst_dkim_dump,
	.execute = tst_dkim_execute
};

/*
 * Validation
 */

static bool
tst_adsp_registered(struct sieve_validator *valdtr,
    const struct sieve_extension *ext ATTR_UNUSED,
    struct sieve_command_registration *cmd_reg)
{
	sieve_comparators_link_tag(valdtr, cmd_reg, SIEVE_MATCH_OPT_COMPARATOR);
	sieve_match_types_link_tags(valdtr, cmd_reg,
	    SIEVE_MATCH_OPT_MATCH_TYPE);
	return TRUE;
}

static bool
tst_dkim_registered(struct sieve_validator *valdtr,
    const struct sieve_extension *ext,
    struct sieve_command_registration *cmd_reg)
{
	tst_adsp_registered(valdtr, ext, cmd_reg);
	sieve_validator_register_tag(valdtr, cmd_reg, ext, &dkim_domain_tag,
	    OPT_DKIM_DOMAIN);
	return TRUE;
}

static bool
tst_dmarc_registered(struct sieve_validator *valdtr,
    const struct sieve_extension *ext,
    struct sieve_command_registration *cmd_reg)
{
	tst_adsp_registered(valdtr, ext, cmd_reg);
	sieve_validator_register_tag(valdtr, cmd_reg, ext,
	    &dmarc_disposition_tag, OPT_DISPOSITION);
	return TRUE;
}

static bool
tst_arc_registered(struct sieve_validator *valdtr,
    const struct sieve_extension *ext,
    struct sieve_command_registration *cmd_reg)
{
	tst_adsp_registered(valdtr, ext, cmd_reg);
	sieve_validator_register_tag(valdtr, cmd_reg, ext, &arc_sealer_tag,
	    OPT_SEALER);
	sieve_validator_register_tag(valdtr, cmd_reg, ext, &arc_trusted_tag,
	    OPT_TRUSTED);
	return TRUE;
}

/* A tag without a parameter stays in the argument list, so that the
 * generator emits its code. */
static bool
tag_bare_validate(struct sieve_validator *valdtr ATTR_UNUSED,
    struct sieve_ast_argument **arg, struct sieve_command *cmd ATTR_UNUSED)
{
	*arg = sieve_ast_argument_next(*arg);
	return TRUE;
}

/* :domain and :sealer <string-list>: the list becomes the tag's
 * parameter. */
static bool
tag_domain_validate(struct sieve_validator *valdtr,
    struct sieve_ast_argument **arg, struct sieve_command *cmd)
{
	struct sieve_ast_argument *tag = *arg;

	*arg = sieve_ast_argument_next(*arg);
	if (!sieve_validate_tag_parameter(valdtr, cmd, tag, *arg, NULL, 0,
	    SAAT_STRING_LIST, FALSE))
		return FALSE;
	tag->parameters = *arg;
	*arg = sieve_ast_arguments_detach(*arg, 1);
	return TRUE;
}

static bool
tst_dkim_validate(struct sieve_validator *valdtr, struct sieve_command *tst)
{
	struct sieve_ast_argument *arg = tst->first_positional;
	const struct sieve_match_type mcht_default =
	    SIEVE_MATCH_TYPE_DEFAULT(is_match_type);
	const struct sieve_comparator cmp_default =
	    SIEVE_COMPARATOR_DEFAULT(i_ascii_casemap_comparator);

	/* :trusted names the sealers :sealer would name: not both. */
	if (sieve_command_find_argument(tst, &arc_sealer_tag) != NULL &&
	    sieve_command_find_argument(tst, &arc_trusted_tag) != NULL) {
		sieve_command_validate_error(valdtr, tst, "the arc test takes "
		    ":sealer or :trusted, not both");
		return FALSE;
	}
	if (!sieve_validate_positional_argument(valdtr, tst, arg, "results",
	    1, SAAT_STRING_LIST))
		return FALSE;
	if (!sieve_validator_argument_activate(valdtr, tst, arg, FALSE))
		return FALSE;
	return sieve_match_type_validate(valdtr, tst, arg, &mcht_default,
	    &cmp_default);
}

/*
 * Code generation and dump
 */

static bool
tst_dkim_generate(const struct sieve_codegen_env *cgenv,
    struct sieve_command *tst)
{
	const struct sieve_operation_def *op = &dkimkit_dkim_operation;

	if (sieve_command_is(tst, dkimkit_adsp_test))
		op = &dkimkit_adsp_operation;
	else if (sieve_command_is(tst, dkimkit_dmarc_test))
		op = &dkimkit_dmarc_operation;
	else if (sieve_command_is(tst, dkimkit_spf_test))
		op = &dkimkit_spf_operation;
	else if (sieve_command_is(tst, dkimkit_arc_test))
		op = &dkimkit_arc_operation;
	sieve_operation_emit(cgenv->sblock, tst->ext, op);
	return sieve_generate_arguments(cgenv, tst, NULL);
}

static bool
tag_domain_generate(const struct sieve_codegen_env *cgenv,
    struct sieve_ast_argument *arg, struct sieve_command *cmd)
{
	return sieve_generate_argument_parameters(cgenv, cmd, arg);
}

static bool
tst_dkim_dump(const struct sieve_dumptime_env *denv, sieve_size_t *address)
{
	int opt, opt_code = 0;

	sieve_code_dumpf(denv, "%s", sieve_operation_mnemonic(denv->oprtn));
	sieve_code_descend(denv);
	while ((opt = sieve_match_opr_optional_dump(denv, address,
	    &opt_code)) > 0) {
		switch (opt_code) {
		case OPT_DKIM_DOMAIN:
		case OPT_SEALER:
			if (!sieve_opr_stringlist_dump(denv, address,
			    opt_code == OPT_SEALER ? "sealers" : "domains"))
				return FALSE;
			break;
		case OPT_DISPOSITION:
			sieve_code_dumpf(denv, "disposition");
			break;
		case OPT_TRUSTED:
			sieve_code_dumpf(denv, "trusted sealers");
			break;
		default:
			return FALSE;
		}
	}
	return opt == 0 &&
	    sieve_opr_stringlist_dump(denv, address, "results");
}

/*
 * Execution
 */

/* True when d= is one of the :domain names (DNS names: no case, and a
 * trailing dot does not count). */
static bool
tst_dkim_domain_wanted(const char *domain, const char *const *wanted)
{
	size_t len;

	if (wanted == NULL)
		return TRUE;
	if (domain == NULL)
		return FALSE;
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	for (; *wanted != NULL; wanted++) {
		size_t wlen = strlen(*wanted);

		if (wlen > 0 && (*wanted)[wlen - 1] == '.')
			wlen--;
		if (wlen == len && strncasecmp(domain, *wanted, len) == 0)
			return TRUE;
	}
	return FALSE;
}

/* The values the dkim test compares: one verdict per wanted signature,
 * "none" without any, the message's verdict (permerror) when it was not
 * evaluated: its signatures are unknown, so :domain cannot make it
 * "none". */
static void
tst_dkim_sigs(const struct sieve_runtime_env *renv,
    const struct dkimkit_msg *msg, const char *const *wanted,
    ARRAY_TYPE(const_string) *values)
{
	static const char *const none = "none";
	unsigned int i;

	if (msg->unevaluated != NULL) {
		array_push_back(values, &msg->unevaluated);
		return;
	}
	for (i = 0; i < msg->count; i++) {
		if (!tst_dkim_domain_wanted(msg->sigs[i].domain, wanted))
			continue;
		sieve_runtime_trace(renv, SIEVE_TRLVL_MATCHING,
		    "signature d=%s: %s", msg->sigs[i].domain == NULL ?
		    "(unparsable)" : msg->sigs[i].domain,
		    msg->sigs[i].verdict);
		array_push_back(values, &msg->sigs[i].verdict);
	}
	if (array_count(values) == 0)
		array_push_back(values, &none);
}

/* The arc test's value: the chain's result; with sealers, a passing
 * chain that none of them sealed is "none" (they vouch for nothing). */
static const char *
tst_arc_value(const struct sieve_runtime_env *renv,
    const struct dkimkit_msg *msg, const char *const *sealers,
    bool restricted)
{
	const char *const *s;

	if (!restricted || strcmp(msg->arc, "pass") != 0)
		return msg->arc;
	for (s = msg->arc_sealers; s != NULL && *s != NULL; s++) {
		if (tst_dkim_domain_wanted(*s, sealers)) {
			sieve_runtime_trace(renv, SIEVE_TRLVL_MATCHING,
			    "ARC pass, an instance sealed by %s", *s);
			return "pass";
		}
	}
	sieve_runtime_trace(renv, SIEVE_TRLVL_MATCHING,
	    "ARC pass, but not sealed by any of those sealers");
	return "none";
}

/* What an operation's optional operands asked for. */
struct tst_opts {
	const char *const *wanted;	/* :domain or :sealer, else NULL */
	bool disposition;		/* :disposition */
	bool trusted;			/* :trusted */
};

/* The values the test compares.  "temperror" alone when the message
 * could not be verified at all, whatever the test. */
static const char *const *
tst_dkim_values(const struct sieve_runtime_env *renv,
    const struct dkimkit_msg *msg, enum tst_kind kind,
    const struct tst_opts *o)
{
	static const char *const temperror = "temperror";
	const struct ext_dkimkit_context *ectx = renv->oprtn->ext->context;
	const char *const *sealers = o->wanted;
	ARRAY_TYPE(const_string) values;
	const char *value = NULL;

	t_array_init(&values, msg->count + 1);
	if (msg->failed) {
		array_push_back(&values, &temperror);
	} else {
		switch (kind) {
		case TST_DKIM:
			tst_dkim_sigs(renv, msg, o->wanted, &values);
			break;
		case TST_ADSP:
			value = msg->adsp;
			break;
		case TST_DMARC:
			value = o->disposition ? msg->disposition : msg->dmarc;
			break;
		case TST_SPF:
			value = msg->spf;
			break;
		case TST_ARC:
			/* :trusted with no trusted sealer: an empty list. */
			if (o->trusted)
				sealers = ectx->sealers != NULL ?
				    (const char *const *)ectx->sealers :
				    t_new(const char *, 1);
			value = tst_arc_value(renv, msg, sealers,
			    sealers != NULL);
			break;
		}
		if (value != NULL)
			array_push_back(&values, &value);
	}
	array_append_zero(&values);
	return array_front(&values);
}

/* Match every value against the keys: >0 a match, 0 none, <0 failure
 * with the status in *exec_r. */
static int
tst_dkim_match(const struct sieve_runtime_env *renv,
    const struct sieve_match_type *mcht, const struct sieve_comparator *cmp,
    const char *const *values, struct sieve_stringlist *keys, int *exec_r)
{
	struct sieve_match_context *mctx;
	int match = 0;

	mctx = sieve_match_begin(renv, mcht, cmp);
	for (; *values != NULL && match == 0; values++) {
		sieve_stringlist_reset(keys);
		match = sieve_match_value(mctx, *values, strlen(*values), keys);
	}
	return sieve_match_end(&mctx, exec_r);
}

/* The optional operands: comparator, match type and the tags. */
static int
tst_dkim_read_optional(const struct sieve_runtime_env *renv,
    sieve_size_t *address, struct sieve_comparator *cmp,
    struct sieve_match_type *mcht, struct tst_opts *o)
{
	struct sieve_stringlist *domains;
	int opt, opt_code = 0, ret;

	while ((opt = sieve_match_opr_optional_read(renv, address, &opt_code,
	    &ret, cmp, mcht)) > 0) {
		switch (opt_code) {
		case OPT_DISPOSITION:
			o->disposition = TRUE;
			continue;
		case OPT_TRUSTED:
			o->trusted = TRUE;
			continue;
		case OPT_DKIM_DOMAIN:
		case OPT_SEALER:
			break;
		default:
			sieve_runtime_trace_error(renv,
			    "unknown optional operand");
			return SIEVE_EXEC_BIN_CORRUPT;
		}
		if ((ret = sieve_opr_stringlist_read(renv, address, "domains",
		    &domains)) <= 0)
			return ret;
		if (sieve_stringlist_read_all(domains, pool_datastack_create(),
		    &o->wanted) < 0)
			return domains->exec_status;
	}
	return opt < 0 ? ret : SIEVE_EXEC_OK;
}

static enum tst_kind
tst_dkim_kind(const struct sieve_runtime_env *renv)
{
	if (sieve_operation_is(renv->oprtn, dkimkit_adsp_operation))
		return TST_ADSP;
	if (sieve_operation_is(renv->oprtn, dkimkit_dmarc_operation))
		return TST_DMARC;
	if (sieve_operation_is(renv->oprtn, dkimkit_spf_operation))
		return TST_SPF;
	if (sieve_operation_is(renv->oprtn, dkimkit_arc_operation))
		return TST_ARC;
	return TST_DKIM;
}

static int
tst_dkim_execute(const struct sieve_runtime_env *renv, sieve_size_t *address)
{
	static const char *const names[] = {
		[TST_DKIM] = "dkim", [TST_ADSP] = "dkim_adsp",
		[TST_DMARC] = "dmarc", [TST_SPF] = "spf", [TST_ARC] = "arc"
	};
	struct sieve_match_type mcht = SIEVE_MATCH_TYPE_DEFAULT(is_match_type);
	struct sieve_comparator cmp =
	    SIEVE_COMPARATOR_DEFAULT(i_ascii_casemap_comparator);
	struct tst_opts o;
	struct sieve_stringlist *keys;
	const struct dkimkit_msg *msg;
	enum tst_kind kind = tst_dkim_kind(renv);
	int match, ret;

	i_zero(&o);
	if ((ret = tst_dkim_read_optional(renv, address, &cmp, &mcht,
	    &o)) <= 0)
		return ret;
	if ((ret = sieve_opr_stringlist_read(renv, address, "results",
	    &keys)) <= 0)
		return ret;
	sieve_runtime_trace(renv, SIEVE_TRLVL_TESTS, "%s test", names[kind]);
	msg = dkimkit_message_get(renv, renv->oprtn->ext);
	match = tst_dkim_match(renv, &mcht, &cmp,
	    tst_dkim_values(renv, msg, kind, &o), keys, &ret);
	if (match < 0)
		return ret;
	sieve_interpreter_set_test_result(renv->interp, match > 0);
	return SIEVE_EXEC_OK;
}
