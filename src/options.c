/*-------------------------------------------------------------------------
 *
 * options.c
 *	  Parsing and validation of the training options jsonb.
 *
 * Every key is checked: unknown keys, wrong JSON types and out-of-range
 * values are errors (invalid_parameter_value), never silently ignored.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "features.h"
#include "options.h"

#define VALID_OPTIONS "l2, intercept, standardize, max_iter, tol, where, key, nulls, erasure_tol, holdout, exposure"

/* Raises the error for an option value of the wrong JSON type. */
static void
option_type_error(const char *name, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" must be %s", name, expected)));
}

/* The value of a numeric option as a double. */
static double
option_number(const char *name, JsonbValue *v)
{
	if (v->type != jbvNumeric)
		option_type_error(name, "a number");
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(v->val.numeric)));
}

/* The value of a boolean option. */
static bool
option_bool(const char *name, JsonbValue *v)
{
	if (v->type != jbvBool)
		option_type_error(name, "a boolean");
	return v->val.boolean;
}

/* The value of a string option, NUL-terminated. */
static char *
option_string(const char *name, JsonbValue *v)
{
	if (v->type != jbvString)
		option_type_error(name, "a string");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* The value of a string option that must not be empty. */
static char *
option_nonempty_string(const char *name, JsonbValue *v)
{
	char	   *value = option_string(name, v);

	if (value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must not be empty", name)));
	return value;
}

/* Applies one key/value pair of the options object. */
static void
apply_option(TrainOptions *opts, const char *name, JsonbValue *v)
{
	if (strcmp(name, "l2") == 0)
	{
		opts->l2 = option_number(name, v);
		if (!isfinite(opts->l2) || opts->l2 < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"l2\" must be a finite number >= 0")));
	}
	else if (strcmp(name, "intercept") == 0)
		opts->intercept = option_bool(name, v);
	else if (strcmp(name, "standardize") == 0)
		opts->standardize = option_bool(name, v);
	else if (strcmp(name, "max_iter") == 0)
	{
		double		m = option_number(name, v);

		if (m != floor(m) || m < 1 || m > 10000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"max_iter\" must be an integer from 1 to 10000")));
		opts->max_iter = (int) m;
	}
	else if (strcmp(name, "tol") == 0)
	{
		opts->tol = option_number(name, v);
		if (!(opts->tol > 0 && opts->tol < 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"tol\" must be a number between 0 and 1, exclusive")));
	}
	else if (strcmp(name, "where") == 0)
		opts->where = option_nonempty_string(name, v);
	else if (strcmp(name, "key") == 0)
		opts->key = option_nonempty_string(name, v);
	else if (strcmp(name, "exposure") == 0)
		opts->exposure = option_nonempty_string(name, v);
	else if (strcmp(name, "nulls") == 0)
	{
		char	   *s = option_string(name, v);

		if (strcmp(s, "error") == 0)
			opts->nulls = NULLS_ERROR;
		else if (strcmp(s, "skip") == 0)
			opts->nulls = NULLS_SKIP;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"nulls\" must be \"skip\" or \"error\"")));
	}
	else if (strcmp(name, "erasure_tol") == 0)
	{
		opts->erasure_tol = option_number(name, v);
		if (!(opts->erasure_tol > 0 && opts->erasure_tol < 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"erasure_tol\" must be a number between 0 and 1, exclusive")));
	}
	else if (strcmp(name, "holdout") == 0)
	{
		opts->holdout = option_number(name, v);
		if (!(opts->holdout >= 0 && opts->holdout < 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"holdout\" must be a number from 0 up to but not including 1"),
					 errdetail("It is the share of the rows kept out of training, for evaluate.")));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown option \"%s\"", name),
				 errhint("Valid options are " VALID_OPTIONS ".")));
}

/* Whether a lineage key's row is held out (see options.h). */
bool
options_key_held_out(int64 key, double holdout)
{
	uint64		k;

	if (!(holdout > 0))
		return false;
	k = features_mix64((uint64) key);
	return (double) (k >> 11) * (1.0 / 9007199254740992.0) < holdout;
}

/* Parses and validates options (NULL means all defaults). */
void
parse_train_options(Jsonb *options, TrainOptions *opts)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;

	opts->l2 = 1.0;
	opts->intercept = true;
	opts->standardize = true;
	opts->max_iter = 100;
	opts->tol = 1e-10;
	opts->where = NULL;
	opts->key = NULL;
	opts->exposure = NULL;
	opts->nulls = NULLS_ERROR;
	opts->erasure_tol = 1e-4;
	opts->penalty_weights = NULL;
	opts->holdout = 0.0;

	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *name;

		if (tok != WJB_KEY)
			continue;
		name = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		apply_option(opts, name, &v);
	}
}

/* The effective options as jsonb, for storage with the model. */
Jsonb *
train_options_to_jsonb(const TrainOptions *opts)
{
	StringInfoData buf;

	initStringInfo(&buf);
	/* Numbers in their shortest text that reads back exactly. */
	appendStringInfo(&buf, "{\"l2\": %s, \"intercept\": %s, \"standardize\": %s, "
					 "\"max_iter\": %d, \"tol\": %s, \"nulls\": \"%s\", "
					 "\"erasure_tol\": %s",
					 float8out_internal(opts->l2), opts->intercept ? "true" : "false",
					 opts->standardize ? "true" : "false", opts->max_iter,
					 float8out_internal(opts->tol),
					 opts->nulls == NULLS_SKIP ? "skip" : "error",
					 float8out_internal(opts->erasure_tol));
	if (opts->where)
	{
		appendStringInfoString(&buf, ", \"where\": ");
		escape_json(&buf, opts->where);
	}
	if (opts->key)
	{
		appendStringInfoString(&buf, ", \"key\": ");
		escape_json(&buf, opts->key);
	}
	if (opts->exposure)
	{
		appendStringInfoString(&buf, ", \"exposure\": ");
		escape_json(&buf, opts->exposure);
	}
	if (opts->holdout > 0)
		appendStringInfo(&buf, ", \"holdout\": %s", float8out_internal(opts->holdout));
	appendStringInfoChar(&buf, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
