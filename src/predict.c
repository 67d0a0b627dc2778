/*-------------------------------------------------------------------------
 *
 * predict.c
 *	  Prediction: predict and predict_proba for a row or a vector.
 *
 * The model is read once per statement: on the first call through a
 * given function-call site it is loaded into fn_extra (in fn_mcxt) and
 * kept for the following rows; it is only read again if the model name
 * changes from row to row.  For row input the model's feature columns
 * are found by name in the row type once per row type.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/pathnodes.h"
#include "nodes/supportnodes.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "common/hashfn.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "arrayutil.h"
#include "catalog.h"
#include "distributed.h"
#include "features.h"
#include "privileges.h"

/* A level of a categorical column and the term it switches on. */
typedef struct PredictLevel
{
	char	   *text;			/* hash key */
	int			term;
} PredictLevel;

/* A feature column of the model, and where it sits in the input rows. */
typedef struct PredictColumn
{
	char	   *name;
	bool		categorical;
	int			term;			/* numeric: its term; categorical: unused */
	double		coef;			/* numeric: theta[term] / scale[term] */
	HTAB	   *levels;			/* categorical: level text -> term */
	AttrNumber	attnum;			/* in the cached row type */
	Oid			atttype;		/* its base type there */
} PredictColumn;

/* A model loaded for one statement. */
typedef struct PredictState
{
	char	   *model;			/* the name it was loaded for */
	int32		model_id;
	const LossFunctions *loss;
	NullPolicy	nulls;
	int			nterms;
	double	   *theta;
	double	   *center;			/* per term */
	double	   *scale;			/* per term */
	bool		intercept;
	double		z0;				/* intercept minus sum of coef * center */
	int			ncols;
	PredictColumn *cols;
	Oid			rowtype;		/* row type the columns are mapped for */
	int32		rowtypmod;
	TupleDesc	rowdesc;
	/* multinomial: one state per class, its own block of theta; else 0, NULL */
	int			nclasses;
	char	  **class_labels;
	struct PredictState **classes;
} PredictState;

/* The column entry of a feature, added if new. */
static PredictColumn *
column_for(PredictState *st, const char *name, bool categorical)
{
	int			i;
	PredictColumn *col;

	for (i = 0; i < st->ncols; i++)
		if (strcmp(st->cols[i].name, name) == 0)
			return &st->cols[i];
	col = &st->cols[st->ncols++];
	memset(col, 0, sizeof(PredictColumn));
	col->name = pstrdup(name);
	col->categorical = categorical;
	if (categorical)
		col->levels = features_level_table("unlearn predict levels", sizeof(PredictLevel),
										   CurrentMemoryContext);
	return col;
}

/* Folds centering and scaling into the state's coefficients: z = z0 + sum coef * x. */
static void
fold_coefficients(PredictState *st)
{
	int			t;

	st->z0 = st->intercept ? st->theta[0] : 0.0;
	for (t = 0; t < st->ncols; t++)
	{
		PredictColumn *col = &st->cols[t];

		if (col->categorical)
			continue;
		col->coef = st->theta[col->term] / st->scale[col->term];
		st->z0 -= col->coef * st->center[col->term];
	}
}

/*
 * Loads a model into a new PredictState in the current memory context.
 * The model is read as the extension's owner; the caller must be allowed
 * to read what it was trained on.
 */
static PredictState *
load_state(const char *name)
{
	PrivilegeSwitch s;
	StoredModel *m;
	PredictState *st = palloc0(sizeof(PredictState));
	int			t;

	privileges_enter_catalog(&s);
	m = catalog_load_model(name, false);
	privileges_leave(&s);
	privileges_check_use(m);

	if (strcmp(m->state, "ready") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" must be retrained before it can predict", name),
				 errdetail("Its state is \"%s\".", m->state),
				 errhint("Run unlearn.retrain('%s').", name)));
	m = distributed_current_model(m, "predict");
	st->model = pstrdup(name);
	st->model_id = m->model_id;
	st->loss = m->loss;
	st->nulls = m->options.nulls;
	st->nterms = m->nterms;
	st->theta = m->theta;
	st->center = palloc(sizeof(double) * m->nterms);
	st->scale = palloc(sizeof(double) * m->nterms);
	st->cols = palloc0(sizeof(PredictColumn) * m->nterms);
	for (t = 0; t < m->nterms; t++)
	{
		ModelTerm  *term = &m->terms[t];

		st->center[t] = term->center;
		st->scale[t] = term->scale;
		if (term->column == NULL)
		{
			if (t != 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("stored state of model \"%s\" is corrupt", name),
						 errdetail("The intercept is not its first term.")));
			st->intercept = true;
		}
		else if (term->level != NULL)
		{
			PredictColumn *col = column_for(st, term->column, true);
			PredictLevel *lev;
			bool		found;

			lev = hash_search(col->levels, &term->level, HASH_ENTER, &found);
			lev->text = term->level;
			lev->term = t;
		}
		else
			column_for(st, term->column, false)->term = t;
	}

	fold_coefficients(st);
	if (m->loss->multiclass)
	{
		int			k;

		/* A state per class: the same columns, its own block of theta. */
		st->nclasses = m->nclasses;
		st->class_labels = m->class_labels;
		st->classes = palloc(sizeof(PredictState *) * m->nclasses);
		for (k = 0; k < m->nclasses; k++)
		{
			PredictState *c = palloc(sizeof(PredictState));

			memcpy(c, st, sizeof(PredictState));
			c->cols = palloc(sizeof(PredictColumn) * Max(st->ncols, 1));
			memcpy(c->cols, st->cols, sizeof(PredictColumn) * st->ncols);
			c->theta = &m->theta[(Size) k * m->nterms];
			c->classes = NULL;
			c->nclasses = 0;
			fold_coefficients(c);
			st->classes[k] = c;
		}
	}
	return st;
}

/*
 * What a call site keeps between calls: the loaded model in a context of
 * its own, and the snapshot it was read under.
 */
typedef struct PredictCache
{
	MemoryContext cxt;
	PredictState *st;
	Oid		   *argtypes;		/* column form: base type of each column */
	TransactionId snap_xmin;
	TransactionId snap_xmax;
	CommandId	snap_cid;
} PredictCache;

/* Whether the active snapshot is the one the cached model was read under. */
static bool
same_snapshot(PredictCache *cache)
{
	Snapshot	snap;

	if (!ActiveSnapshotSet())
		return false;
	snap = GetActiveSnapshot();
	return snap->xmin == cache->snap_xmin && snap->xmax == cache->snap_xmax &&
		snap->curcid == cache->snap_cid;
}

/*
 * The model for this call site.  It is read on first use and kept for
 * every row of the statement; it is read again when the model name
 * changes, or when the snapshot does (a later statement of the same
 * transaction, in plpgsql say, must see a retrain or an erasure).
 */
static PredictState *
get_state(FunctionCallInfo fcinfo)
{
	PredictCache *cache = (PredictCache *) fcinfo->flinfo->fn_extra;
	text	   *name = PG_GETARG_TEXT_PP(0);
	PredictState *st;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(PredictCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	st = cache->st;
	if (st == NULL || !same_snapshot(cache) ||
		strncmp(st->model, VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name)) != 0 ||
		st->model[VARSIZE_ANY_EXHDR(name)] != '\0')
	{
		MemoryContext old;

		if (cache->cxt)
			MemoryContextDelete(cache->cxt);
		cache->st = NULL;
		cache->cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "unlearn predict",
										   ALLOCSET_SMALL_SIZES);
		old = MemoryContextSwitchTo(cache->cxt);
		st = load_state(text_to_cstring(name));
		MemoryContextSwitchTo(old);
		cache->st = st;
		if (ActiveSnapshotSet())
		{
			Snapshot	snap = GetActiveSnapshot();

			cache->snap_xmin = snap->xmin;
			cache->snap_xmax = snap->xmax;
			cache->snap_cid = snap->curcid;
		}
	}
	return st;
}

/* Maps the model's feature columns onto a row type, by name. */
static void
map_row_type(PredictState *st, Oid rowtype, int32 rowtypmod)
{
	TupleDesc	desc;
	int			i;

	/* Forget the old mapping first: an error below leaves none, not half. */
	if (st->rowdesc)
	{
		FreeTupleDesc(st->rowdesc);
		st->rowdesc = NULL;
	}
	desc = lookup_rowtype_tupdesc(rowtype, rowtypmod);

	for (i = 0; i < st->ncols; i++)
	{
		PredictColumn *col = &st->cols[i];
		ColumnKind	kind;
		int			a;

		col->attnum = InvalidAttrNumber;
		for (a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute attr = TupleDescAttr(desc, a);

			if (!attr->attisdropped && strcmp(NameStr(attr->attname), col->name) == 0)
			{
				col->attnum = attr->attnum;
				col->atttype = getBaseType(attr->atttypid);
				break;
			}
		}
		if (col->attnum == InvalidAttrNumber)
		{
			ReleaseTupleDesc(desc);
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("input row has no column \"%s\", which model \"%s\" uses",
							col->name, st->model)));
		}
		if (!feature_kind_of_type(col->atttype, &kind) ||
			(kind == COLUMN_CATEGORICAL) != col->categorical)
		{
			Oid			type = col->atttype;

			ReleaseTupleDesc(desc);
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of the input row has type %s, but model \"%s\" takes %s values",
							col->name, feature_type_name(type), st->model,
							col->categorical ? "categorical (text or enum)" : "numeric or boolean")));
		}
	}
	{
		MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(st));

		st->rowdesc = CreateTupleDescCopy(desc);
		MemoryContextSwitchTo(old);
	}
	ReleaseTupleDesc(desc);
	st->rowtype = rowtype;
	st->rowtypmod = rowtypmod;
}

/*
 * Adds one column's contribution to the linear predictor; false if the
 * value is NULL and the model skips such rows (the prediction is NULL).
 */
static bool
add_column(PredictState *st, PredictColumn *col, Datum value, bool isnull,
		   Oid type, double *sum)
{
	if (isnull)
	{
		if (st->nulls == NULLS_SKIP)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("column \"%s\" of the input row is null", col->name),
				 errhint("Model \"%s\" was trained with nulls = 'error'; filter such rows out.",
						 st->model)));
	}
	if (col->categorical)
	{
		char	   *text = feature_datum_to_text(value, type);
		PredictLevel *lev = hash_search(col->levels, &text, HASH_FIND, NULL);

		/* An unseen level has no term: it contributes nothing. */
		if (lev)
			*sum += st->theta[lev->term];
		pfree(text);
	}
	else
	{
		double		x = likely(type == FLOAT8OID) ? DatumGetFloat8(value) :
			feature_datum_to_double(value, type);

		if (unlikely(!isfinite(x)))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("column \"%s\" of the input row is NaN or infinity",
							col->name)));
		*sum += col->coef * x;
	}
	return true;
}

/*
 * The linear predictor of a row; false if a NULL feature makes the
 * prediction NULL (nulls = skip).
 */
static bool
row_linear_predictor(PredictState *st, HeapTupleHeader row, double *z)
{
	Oid			rowtype = HeapTupleHeaderGetTypeId(row);
	int32		rowtypmod = HeapTupleHeaderGetTypMod(row);
	HeapTupleData tuple;
	double		sum;
	int			i;

	if (st->rowdesc == NULL || rowtype != st->rowtype || rowtypmod != st->rowtypmod)
		map_row_type(st, rowtype, rowtypmod);

	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;

	/*
	 * Fetch only the model's columns: fixed-width columns before any
	 * variable-width one come straight from cached offsets.
	 */
	sum = st->z0;
	for (i = 0; i < st->ncols; i++)
	{
		PredictColumn *col = &st->cols[i];
		bool		isnull;
		Datum		value = heap_getattr(&tuple, col->attnum, st->rowdesc, &isnull);

		if (!add_column(st, col, value, isnull, col->atttype, &sum))
			return false;
	}
	*z = sum;
	return true;
}

/* The linear predictor of a vector with one value per non-intercept term. */
static double
vector_linear_predictor(PredictState *st, ArrayType *input)
{
	int			first = st->intercept ? 1 : 0;
	int			expected = st->nterms - first;
	int			rows,
				cols;
	double	   *x = float8_array_values(input, "input vector", &rows, &cols);
	double		sum;
	int			t;

	if (ARR_NDIM(input) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("input vector must be one-dimensional")));
	if (cols != expected)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("input vector has %d values, but model \"%s\" takes %d",
						rows * cols, st->model, expected),
				 errhint("Give one value per term other than the intercept, in the order of unlearn.weights.")));
	sum = st->intercept ? st->theta[0] : 0.0;
	for (t = first; t < st->nterms; t++)
	{
		double		v = x[t - first];

		if (!isfinite(v))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("input vector contains NaN or infinity")));
		sum += st->theta[t] * (v - st->center[t]) / st->scale[t];
	}
	pfree(x);
	return sum;
}

/* Raises the error for predict or predict_proba of a multinomial model. */
static void
refuse_multiclass(PredictState *st)
{
	if (st->nclasses > 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a multinomial model of %d classes", st->model,
						st->nclasses),
				 errhint("Use unlearn.predict_class for its class, unlearn.predict_probabilities for each class's probability.")));
}

/* predict's answer: the value (linear) or the class 0/1 (logistic). */
static double
predicted_value(PredictState *st, double z)
{
	refuse_multiclass(st);
	if (st->loss->binary_labels)
		return z >= 0 ? 1.0 : 0.0;
	return st->loss->predict(z);
}

/* Raises the error for predict_proba on a model without probabilities. */
static void
require_probabilities(PredictState *st)
{
	refuse_multiclass(st);
	if (!st->loss->binary_labels)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a %s model, not a logistic one",
						st->model, st->loss->name),
				 errhint("Use unlearn.predict for its predictions.")));
}

PG_FUNCTION_INFO_V1(unlearn_predict_row);

/* predict(model, row). */
Datum
unlearn_predict_row(PG_FUNCTION_ARGS)
{
	PredictState *st = get_state(fcinfo);
	double		z;

	if (!row_linear_predictor(st, PG_GETARG_HEAPTUPLEHEADER(1), &z))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(predicted_value(st, z));
}

PG_FUNCTION_INFO_V1(unlearn_predict_vector);

/* predict(model, float8[]). */
Datum
unlearn_predict_vector(PG_FUNCTION_ARGS)
{
	PredictState *st = get_state(fcinfo);

	PG_RETURN_FLOAT8(predicted_value(st, vector_linear_predictor(st, PG_GETARG_ARRAYTYPE_P(1))));
}

/*
 * Multinomial: each class's probability for a row into p (nclasses);
 * false if a NULL feature makes the prediction NULL.
 */
static bool
row_class_probabilities(PredictState *st, HeapTupleHeader row, double *p)
{
	double	   *z = palloc(sizeof(double) * st->nclasses);
	int			k;

	for (k = 0; k < st->nclasses; k++)
		if (!row_linear_predictor(st->classes[k], row, &z[k]))
			return false;
	(void) multinomial_softmax(z, st->nclasses, p);
	pfree(z);
	return true;
}

/* Raises the error for a multinomial function on another model. */
static void
require_multiclass(PredictState *st)
{
	if (st->nclasses == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a %s model, not a multinomial one",
						st->model, st->loss->name),
				 errhint("Use unlearn.predict and unlearn.predict_proba for its predictions.")));
}

PG_FUNCTION_INFO_V1(unlearn_predict_class_row);

/* predict_class(model, row): the most probable class, as text. */
Datum
unlearn_predict_class_row(PG_FUNCTION_ARGS)
{
	PredictState *st = get_state(fcinfo);
	double	   *p;
	int			best = 0,
				k;

	require_multiclass(st);
	p = palloc(sizeof(double) * st->nclasses);
	if (!row_class_probabilities(st, PG_GETARG_HEAPTUPLEHEADER(1), p))
		PG_RETURN_NULL();
	for (k = 1; k < st->nclasses; k++)
		if (p[k] > p[best])
			best = k;
	PG_RETURN_TEXT_P(cstring_to_text(st->class_labels[best]));
}

PG_FUNCTION_INFO_V1(unlearn_predict_probabilities_row);

/* predict_probabilities(model, row): (class, probability) per class, in class order. */
Datum
unlearn_predict_probabilities_row(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PredictState *st = get_state(fcinfo);
	double	   *p;
	int			k;

	require_multiclass(st);
	InitMaterializedSRF(fcinfo, 0);
	p = palloc(sizeof(double) * st->nclasses);
	if (!row_class_probabilities(st, PG_GETARG_HEAPTUPLEHEADER(1), p))
		return (Datum) 0;
	for (k = 0; k < st->nclasses; k++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = PointerGetDatum(cstring_to_text(st->class_labels[k]));
		values[1] = Float8GetDatum(p[k]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(unlearn_predict_proba_row);

/* predict_proba(model, row). */
Datum
unlearn_predict_proba_row(PG_FUNCTION_ARGS)
{
	PredictState *st = get_state(fcinfo);
	double		z;

	require_probabilities(st);
	if (!row_linear_predictor(st, PG_GETARG_HEAPTUPLEHEADER(1), &z))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(st->loss->predict(z));
}

PG_FUNCTION_INFO_V1(unlearn_predict_proba_vector);

/* predict_proba(model, float8[]). */
Datum
unlearn_predict_proba_vector(PG_FUNCTION_ARGS)
{
	PredictState *st = get_state(fcinfo);

	require_probabilities(st);
	PG_RETURN_FLOAT8(st->loss->predict(vector_linear_predictor(st, PG_GETARG_ARRAYTYPE_P(1))));
}

/* ---------------------------------------------------------------------
 * Plan-time rewrite: predict(model, t) over a table's rows becomes a call
 * that receives just the model's columns, so no row tuple is built.
 * ---------------------------------------------------------------------
 */

/* Prediction modes of the column form. */
#define MODE_PREDICT	0
#define MODE_PROBA		1

/*
 * The base types of the column arguments of _predict_columns, in fn_mcxt,
 * checked against the kinds of the model's columns (the planner's call
 * fits; a call written by hand may not).
 */
static Oid *
column_argument_types(FunctionCallInfo fcinfo, PredictState *st)
{
	Oid		   *types = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Oid) * st->ncols);
	int			i;

	for (i = 0; i < st->ncols; i++)
	{
		PredictColumn *col = &st->cols[i];
		ColumnKind	kind;

		types[i] = getBaseType(get_fn_expr_argtype(fcinfo->flinfo, 4 + i));
		if (!feature_kind_of_type(types[i], &kind) ||
			(kind == COLUMN_CATEGORICAL) != col->categorical)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the value for column \"%s\" has type %s, but model \"%s\" takes %s values",
							col->name, feature_type_name(types[i]), st->model,
							col->categorical ? "categorical (text or enum)" : "numeric or boolean")));
	}
	return types;
}

PG_FUNCTION_INFO_V1(unlearn_predict_columns);

/*
 * _predict_columns(model, model_id, mode, ctid, column...): the rewritten
 * form.  The columns come in the model's column order, as planned for
 * model_id; ctid is NULL only for a NULL-extended (outer join) row, whose
 * prediction is NULL as with the row form.
 */
Datum
unlearn_predict_columns(PG_FUNCTION_ARGS)
{
	PredictState *st;
	PredictCache *cache;
	int32		mode;
	double		sum;
	int			i;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model id and prediction mode must not be null")));
	mode = PG_GETARG_INT32(2);
	if (mode != MODE_PREDICT && mode != MODE_PROBA)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid prediction mode %d", mode)));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	st = get_state(fcinfo);
	cache = (PredictCache *) fcinfo->flinfo->fn_extra;
	if (st->model_id != PG_GETARG_INT32(1) || PG_NARGS() != 4 + st->ncols)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" was replaced after this statement was planned",
						st->model),
				 errhint("Run the statement again.")));
	if (cache->argtypes == NULL)
		cache->argtypes = column_argument_types(fcinfo, st);
	if (mode == MODE_PROBA)
		require_probabilities(st);

	sum = st->z0;
	for (i = 0; i < st->ncols; i++)
		if (!add_column(st, &st->cols[i], PG_GETARG_DATUM(4 + i),
						PG_ARGISNULL(4 + i), cache->argtypes[i], &sum))
			PG_RETURN_NULL();
	if (mode == MODE_PROBA)
		PG_RETURN_FLOAT8(st->loss->predict(sum));
	PG_RETURN_FLOAT8(predicted_value(st, sum));
}

/* OID of unlearn._predict_columns(text, int4, int4, VARIADIC "any"). */
static Oid
predict_columns_oid(void)
{
	Oid			argtypes[4] = {TEXTOID, INT4OID, INT4OID, ANYOID};

	return LookupFuncName(list_make2(makeString("unlearn"), makeString("_predict_columns")),
						  4, argtypes, false);
}

/*
 * Raises the error for a role without the predict capability, at plan
 * time and naming the model when the call names it by a constant: the
 * executor's own check names only the function, and after the rewrite
 * below a function the caller never wrote (_predict_columns).  The plan
 * then depends on the role, so a cached plan is made again for another.
 */
static void
check_predict_capability(PlannerInfo *root, FuncExpr *call)
{
	Const	   *name = (Const *) linitial(call->args);

	root->glob->dependsOnRole = true;
	if (pg_proc_aclcheck(call->funcid, GetUserId(), ACL_EXECUTE) == ACLCHECK_OK)
		return;
	if (IsA(name, Const) && !name->constisnull && name->consttype == TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for model \"%s\"",
						TextDatumGetCString(name->constvalue)),
				 errdetail("Predicting with a model, and evaluating it, need the predict capability."),
				 errhint("A superuser grants it with unlearn.grant_predict.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to predict"),
			 errdetail("Predicting with a model, and evaluating it, need the predict capability."),
			 errhint("A superuser grants it with unlearn.grant_predict.")));
}

/* Whether a call is predict or predict_proba of a record (the row form). */
static bool
is_row_form(FuncExpr *call)
{
	Oid		   *argtypes;
	int			nargs;
	char	   *name;

	if (list_length(call->args) != 2)
		return false;
	(void) get_func_signature(call->funcid, &argtypes, &nargs);
	name = get_func_name(call->funcid);
	return nargs == 2 && argtypes[1] == RECORDOID &&
		(strcmp(name, "predict") == 0 || strcmp(name, "predict_proba") == 0);
}

PG_FUNCTION_INFO_V1(unlearn_predict_support);

/*
 * Planner support for every function of the predict capability (predict,
 * predict_proba, _predict_columns, evaluate): a caller without it is
 * refused, naming the model.  For predict/predict_proba(model, record):
 * when the model is a constant that exists and the row is the whole row
 * of an ordinary table in this query level, whose columns fit the model,
 * the call becomes _predict_columns with those columns.  Anything else is
 * left alone (and gives its usual answer or error at run time).
 */
Datum
unlearn_predict_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestSimplify *req;
	FuncExpr   *call;
	Const	   *name;
	Var		   *row;
	RangeTblEntry *rte;
	PredictState *st;
	char	   *model;
	bool		proba;
	List	   *args;
	FuncExpr   *rewritten;
	PrivilegeSwitch s;
	bool		exists;
	int			i;

	if (!IsA(rawreq, SupportRequestSimplify))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestSimplify *) rawreq;
	call = req->fcall;
	if (req->root == NULL || call->args == NIL)
		PG_RETURN_POINTER(NULL);
	check_predict_capability(req->root, call);
	if (!is_row_form(call))
		PG_RETURN_POINTER(NULL);
	name = (Const *) linitial(call->args);
	row = (Var *) lsecond(call->args);
	if (!IsA(name, Const) || name->constisnull || name->consttype != TEXTOID ||
		!IsA(row, Var) || row->varattno != 0 || row->varlevelsup != 0 ||
		row->varno < 1 || row->varno > list_length(req->root->parse->rtable))
		PG_RETURN_POINTER(NULL);
	rte = planner_rt_fetch(row->varno, req->root);
	if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_RELATION ||
		get_rel_type_id(rte->relid) != row->vartype)
		PG_RETURN_POINTER(NULL);

	model = TextDatumGetCString(name->constvalue);
	privileges_enter_catalog(&s);
	exists = catalog_model_exists(model);
	privileges_leave(&s);
	if (!exists)
		PG_RETURN_POINTER(NULL);
	st = load_state(model);
	proba = strcmp(get_func_name(call->funcid), "predict_proba") == 0;
	if (proba && !st->loss->binary_labels)
		PG_RETURN_POINTER(NULL);

	args = list_make4(copyObject(name),
					  makeConst(INT4OID, -1, InvalidOid, sizeof(int32),
								Int32GetDatum(st->model_id), false, true),
					  makeConst(INT4OID, -1, InvalidOid, sizeof(int32),
								Int32GetDatum(proba ? MODE_PROBA : MODE_PREDICT), false, true),
					  makeVar(row->varno, SelfItemPointerAttributeNumber, TIDOID, -1,
							  InvalidOid, 0));
	for (i = 0; i < st->ncols; i++)
	{
		PredictColumn *col = &st->cols[i];
		AttrNumber	attnum = get_attnum(rte->relid, col->name);
		Oid			type;
		int32		typmod;
		Oid			collation;
		ColumnKind	kind;

		if (attnum <= 0)
			PG_RETURN_POINTER(NULL);
		get_atttypetypmodcoll(rte->relid, attnum, &type, &typmod, &collation);
		if (!feature_kind_of_type(getBaseType(type), &kind) ||
			(kind == COLUMN_CATEGORICAL) != col->categorical)
			PG_RETURN_POINTER(NULL);
		args = lappend(args, makeVar(row->varno, attnum, type, typmod, collation, 0));
	}
	rewritten = makeFuncExpr(predict_columns_oid(), FLOAT8OID, args,
							 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	rewritten->location = call->location;
	PG_RETURN_POINTER(rewritten);
}
