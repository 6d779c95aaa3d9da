/*
 * tst-dkim.c: the tests of "vnd.dkimkit".
 *
 *   dkim [:domain <domains: string-list>] [COMPARATOR] [MATCH-TYPE]
 *        <results: string-list>
 *   dkim_adsp [COMPARATOR] [MATCH-TYPE] <results: string-list>
 *
 * dkim matches the verdict of every DKIM-Signature (only those whose d=
 * is one of the :domain strings, compared without case) against the
 * results; with no such signature the one verdict is "none".  dkim_adsp
 * matches the RFC 5617 result.  Comparators and match types are RFC 5228
 * section 2.7; the default is :is with "i;ascii-casemap".  When the
 * message could not be verified at all, the only value is "temperror";
 * when its header block is over the core's limits, dkim's only value is
 * "permerror" (and dkim_adsp's is permerror too).
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
	OPT_DKIM_DOMAIN = SIEVE_MATCH_OPT_LAST
};

static bool tst_dkim_registered(struct sieve_validator *valdtr,
    const struct sieve_extension *ext,
    struct sieve_command_registration *cmd_reg);
static bool tst_adsp_registered(struct sieve_validator *valdtr,
    const struct sieve_extension *ext,
    struct sieve_command_registration *cmd_reg);
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

static const struct sieve_argument_def dkim_domain_tag = {
	.identifier = "domain",
	.validate = tag_domain_validate,
	.generate = tag_domain_generate
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

/* :domain <string-list>: the list becomes the tag's parameter. */
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
		if (opt_code != OPT_DKIM_DOMAIN ||
		    !sieve_opr_stringlist_dump(denv, address, "domains"))
			return FALSE;
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

/* The values the test compares: one verdict per wanted signature,
 * "none" without any, "temperror" when verification failed, the message's
 * verdict (permerror) when it was not evaluated: its signatures are
 * unknown, so :domain cannot make it "none". */
static const char *const *
tst_dkim_values(const struct sieve_runtime_env *renv,
    const struct dkimkit_msg *msg, const char *const *wanted, bool adsp)
{
	static const char *const temperror = "temperror", *const none = "none";
	ARRAY_TYPE(const_string) values;
	unsigned int i;

	t_array_init(&values, msg->count + 1);
	if (msg->failed) {
		array_push_back(&values, &temperror);
	} else if (adsp) {
		array_push_back(&values, &msg->adsp);
	} else if (msg->unevaluated != NULL) {
		array_push_back(&values, &msg->unevaluated);
	} else {
		for (i = 0; i < msg->count; i++) {
			if (!tst_dkim_domain_wanted(msg->sigs[i].domain,
			    wanted))
				continue;
			sieve_runtime_trace(renv, SIEVE_TRLVL_MATCHING,
			    "signature d=%s: %s", msg->sigs[i].domain == NULL ?
			    "(unparsable)" : msg->sigs[i].domain,
			    msg->sigs[i].verdict);
			array_push_back(&values, &msg->sigs[i].verdict);
		}
		if (array_count(&values) == 0)
			array_push_back(&values, &none);
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

/* The optional operands: comparator, match type and :domain. */
static int
tst_dkim_read_optional(const struct sieve_runtime_env *renv,
    sieve_size_t *address, struct sieve_comparator *cmp,
    struct sieve_match_type *mcht, const char *const **wanted_r)
{
	struct sieve_stringlist *domains;
	int opt, opt_code = 0, ret;

	while ((opt = sieve_match_opr_optional_read(renv, address, &opt_code,
	    &ret, cmp, mcht)) > 0) {
		if (opt_code != OPT_DKIM_DOMAIN) {
			sieve_runtime_trace_error(renv,
			    "unknown optional operand");
			return SIEVE_EXEC_BIN_CORRUPT;
		}
		if ((ret = sieve_opr_stringlist_read(renv, address, "domains",
		    &domains)) <= 0)
			return ret;
		if (sieve_stringlist_read_all(domains, pool_datastack_create(),
		    wanted_r) < 0)
			return domains->exec_status;
	}
	return opt < 0 ? ret : SIEVE_EXEC_OK;
}

static int
tst_dkim_execute(const struct sieve_runtime_env *renv, sieve_size_t *address)
{
	struct sieve_match_type mcht = SIEVE_MATCH_TYPE_DEFAULT(is_match_type);
	struct sieve_comparator cmp =
	    SIEVE_COMPARATOR_DEFAULT(i_ascii_casemap_comparator);
	const char *const *wanted = NULL;
	struct sieve_stringlist *keys;
	const struct dkimkit_msg *msg;
	bool adsp = sieve_operation_is(renv->oprtn, dkimkit_adsp_operation);
	int match, ret;

	if ((ret = tst_dkim_read_optional(renv, address, &cmp, &mcht,
	    &wanted)) <= 0)
		return ret;
	if ((ret = sieve_opr_stringlist_read(renv, address, "results",
	    &keys)) <= 0)
		return ret;
	sieve_runtime_trace(renv, SIEVE_TRLVL_TESTS, "%s test",
	    adsp ? "dkim_adsp" : "dkim");
	msg = dkimkit_message_get(renv, renv->oprtn->ext);
	match = tst_dkim_match(renv, &mcht, &cmp,
	    tst_dkim_values(renv, msg, wanted, adsp), keys, &ret);
	if (match < 0)
		return ret;
	sieve_interpreter_set_test_result(renv->interp, match > 0);
	return SIEVE_EXEC_OK;
}
