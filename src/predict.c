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
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "commands/extension.h"
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
#include "predict.h"
#include "citus_guard.h"
#include "distributed_sums.h"
#include "tablerow.h"

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
column_argument_types(FunctionCallInfo fcinfo, PredictState *st, int first)
{
	Oid		   *types = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Oid) * st->ncols);
	int			i;

	for (i = 0; i < st->ncols; i++)
	{
		PredictColumn *col = &st->cols[i];
		ColumnKind	kind;

		types[i] = getBaseType(get_fn_expr_argtype(fcinfo->flinfo, first + i));
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

/*
 * The prediction (mode) of the model's columns given as the arguments
 * from first on, of base types argtypes: the column forms' end.
 */
static Datum
predict_from_columns(FunctionCallInfo fcinfo, PredictState *st, int32 mode, int first,
					 const Oid *argtypes)
{
	double		sum = st->z0;
	int			i;

	if (mode == MODE_PROBA)
		require_probabilities(st);
	for (i = 0; i < st->ncols; i++)
		if (!add_column(st, &st->cols[i], PG_GETARG_DATUM(first + i),
						PG_ARGISNULL(first + i), argtypes[i], &sum))
			PG_RETURN_NULL();
	if (mode == MODE_PROBA)
		PG_RETURN_FLOAT8(st->loss->predict(sum));
	PG_RETURN_FLOAT8(predicted_value(st, sum));
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
		cache->argtypes = column_argument_types(fcinfo, st, 4);
	return predict_from_columns(fcinfo, st, mode, 4, cache->argtypes);
}

/*
 * The shipped form, for a table whose rows Citus reads on its workers,
 * which have no model: the model travels in the call as constants.  Its
 * spec is [SHIPPED_MAGIC, model_id, loss code, nulls, z0, coef...], one
 * coefficient a column (centering and scaling folded in, as
 * fold_coefficients does), the columns named by a text[] in that order.
 */
#define SHIPPED_MAGIC		7130502.0
#define SHIPPED_HEADER		5

/* A PredictState read from a shipped spec (see above), in the current context. */
static PredictState *
shipped_state(const char *model, ArrayType *spec, ArrayType *names)
{
	PredictState *st = palloc0(sizeof(PredictState));
	Datum	   *name_datums;
	bool	   *name_nulls;
	double	   *v;
	int			n,
				nnames,
				i;

	if (ARR_NDIM(spec) != 1 || ARR_ELEMTYPE(spec) != FLOAT8OID || ARR_HASNULL(spec) ||
		ARR_NDIM(names) != 1 || ARR_ELEMTYPE(names) != TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed shipped model: a float8[] and a text[] are expected")));
	n = ARR_DIMS(spec)[0];
	v = (double *) ARR_DATA_PTR(spec);
	deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT, &name_datums, &name_nulls, &nnames);
	if (n < SHIPPED_HEADER || v[0] != SHIPPED_MAGIC || n != SHIPPED_HEADER + nnames ||
		pass_loss_of_code((int) v[2]) == NULL || v[2] != floor(v[2]) ||
		(v[3] != NULLS_ERROR && v[3] != NULLS_SKIP))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed shipped model"),
				 errhint("unlearn._predict_shipped is written by the planner for a distributed table.")));
	st->model = pstrdup(model);
	st->model_id = (int32) v[1];
	st->loss = pass_loss_of_code((int) v[2]);
	st->nulls = (NullPolicy) v[3];
	st->z0 = v[4];
	st->ncols = nnames;
	st->cols = palloc0(sizeof(PredictColumn) * Max(nnames, 1));
	for (i = 0; i < nnames; i++)
	{
		if (name_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("malformed shipped model: a column name is null")));
		st->cols[i].name = TextDatumGetCString(name_datums[i]);
		st->cols[i].coef = v[SHIPPED_HEADER + i];
	}
	return st;
}

/* The shipped spec and column names of a loaded model (see shipped_state). */
static void
ship_state(PredictState *st, Const **spec, Const **names)
{
	Datum	   *v = palloc(sizeof(Datum) * (SHIPPED_HEADER + st->ncols));
	Datum	   *t = palloc(sizeof(Datum) * Max(st->ncols, 1));
	ArrayType  *a;
	int			i;

	v[0] = Float8GetDatum(SHIPPED_MAGIC);
	v[1] = Float8GetDatum(st->model_id);
	v[2] = Float8GetDatum(pass_loss_code(st->loss));
	v[3] = Float8GetDatum((double) st->nulls);
	v[4] = Float8GetDatum(st->z0);
	for (i = 0; i < st->ncols; i++)
	{
		v[SHIPPED_HEADER + i] = Float8GetDatum(st->cols[i].coef);
		t[i] = CStringGetTextDatum(st->cols[i].name);
	}
	a = construct_array(v, SHIPPED_HEADER + st->ncols, FLOAT8OID, sizeof(double),
						FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	*spec = makeConst(FLOAT8ARRAYOID, -1, InvalidOid, -1, PointerGetDatum(a), false, false);
	a = construct_array(t, st->ncols, TEXTOID, -1, false, TYPALIGN_INT);
	*names = makeConst(TEXTARRAYOID, -1, InvalidOid, -1, PointerGetDatum(a), false, false);
}

/* What a shipped call site keeps: its spec's bytes, and the state read from them. */
typedef struct ShippedCache
{
	PredictState *st;
	Oid		   *argtypes;
	char	   *spec;			/* a copy of the spec array it was read from */
	Size		spec_size;
} ShippedCache;

PG_FUNCTION_INFO_V1(unlearn_predict_shipped);

/*
 * _predict_shipped(model, spec, columns, mode, ctid, column...): the
 * shipped form (above), read once per call site while its spec stays the
 * same; ctid NULL only for an outer join's missing row.
 */
Datum
unlearn_predict_shipped(PG_FUNCTION_ARGS)
{
	ShippedCache *cache = (ShippedCache *) fcinfo->flinfo->fn_extra;
	ArrayType  *spec;
	int32		mode;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model, shipped model and prediction mode must not be null")));
	mode = PG_GETARG_INT32(3);
	if (mode != MODE_PREDICT && mode != MODE_PROBA)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid prediction mode %d", mode)));
	if (PG_ARGISNULL(4))
		PG_RETURN_NULL();
	spec = PG_GETARG_ARRAYTYPE_P(1);
	if (cache == NULL || cache->spec_size != VARSIZE(spec) ||
		memcmp(cache->spec, spec, VARSIZE(spec)) != 0)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		cache = palloc0(sizeof(ShippedCache));
		cache->st = shipped_state(text_to_cstring(PG_GETARG_TEXT_PP(0)), spec,
								  PG_GETARG_ARRAYTYPE_P(2));
		if (PG_NARGS() != 5 + cache->st->ncols)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("shipped model \"%s\" takes %d columns, the call gives %d",
							cache->st->model, cache->st->ncols, PG_NARGS() - 5)));
		cache->argtypes = column_argument_types(fcinfo, cache->st, 5);
		cache->spec_size = VARSIZE(spec);
		cache->spec = palloc(cache->spec_size);
		memcpy(cache->spec, spec, cache->spec_size);
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = cache;
	}
	return predict_from_columns(fcinfo, cache->st, mode, 5, cache->argtypes);
}

/* OID of unlearn._predict_shipped(text, float8[], text[], int4, VARIADIC "any"). */
static Oid
predict_shipped_oid(void)
{
	Oid			argtypes[5] = {TEXTOID, FLOAT8ARRAYOID, TEXTARRAYOID, INT4OID, ANYOID};

	return LookupFuncName(list_make2(makeString("unlearn"), makeString("_predict_shipped")),
						  5, argtypes, false);
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

/*
 * Raises the error for a model the shipped form cannot carry: multinomial
 * or with categorical features (their levels are not shipped).
 */
static void
refuse_unshippable(PredictState *st)
{
	int			i;

	for (i = 0; i < st->ncols; i++)
		if (st->nclasses > 0 || st->cols[i].categorical)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("model \"%s\" cannot predict over a distributed table", st->model),
					 errdetail("Its workers read the model from the statement, which carries numeric and boolean features of a single-output model only."),
					 errhint("Predict over the rows brought to the coordinator, e.g. from a CTE marked MATERIALIZED.")));
}

/*
 * The rewritten form of predict/predict_proba(model, record) in a query
 * whose range table is rtable, or NULL to leave the call alone: when the
 * model is a constant that exists and the row is the whole row of an
 * ordinary table in this query level, whose columns fit the model, the
 * call becomes _predict_columns with those columns, or, over a Citus
 * table, _predict_shipped with the model in its constants (*shipped_id
 * set to the model's id, else 0).
 */
static Node *
rewrite_row_call(FuncExpr *call, List *rtable, int32 *shipped_id)
{
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
	bool		shipped;
	int			i;

	*shipped_id = 0;
	if (!is_row_form(call))
		return NULL;
	name = (Const *) linitial(call->args);
	row = (Var *) lsecond(call->args);
	if (!IsA(name, Const) || name->constisnull || name->consttype != TEXTOID ||
		!IsA(row, Var) || row->varattno != 0 || row->varlevelsup != 0 ||
		row->varno < 1 || row->varno > list_length(rtable))
		return NULL;
	rte = rt_fetch(row->varno, rtable);
	if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_RELATION ||
		get_rel_type_id(rte->relid) != row->vartype)
		return NULL;

	model = TextDatumGetCString(name->constvalue);
	privileges_enter_catalog(&s);
	exists = catalog_model_exists(model);
	privileges_leave(&s);
	if (!exists)
		return NULL;
	st = load_state(model);
	proba = strcmp(get_func_name(call->funcid), "predict_proba") == 0;
	shipped = citus_table_kind(rte->relid) != NULL;
	if (proba && shipped)
		require_probabilities(st);	/* the workers could not say it */
	if (proba && !st->loss->binary_labels)
		return NULL;

	if (shipped)
	{
		Const	   *spec,
				   *names;

		refuse_unshippable(st);
		ship_state(st, &spec, &names);
		args = list_make5(copyObject(name), spec, names,
						  makeConst(INT4OID, -1, InvalidOid, sizeof(int32),
									Int32GetDatum(proba ? MODE_PROBA : MODE_PREDICT), false, true),
						  makeVar(row->varno, SelfItemPointerAttributeNumber, TIDOID, -1,
								  InvalidOid, 0));
		*shipped_id = st->model_id;
	}
	else
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
			return NULL;
		get_atttypetypmodcoll(rte->relid, attnum, &type, &typmod, &collation);
		if (!feature_kind_of_type(getBaseType(type), &kind) ||
			(kind == COLUMN_CATEGORICAL) != col->categorical)
			return NULL;
		args = lappend(args, makeVar(row->varno, attnum, type, typmod, collation, 0));
	}
	rewritten = makeFuncExpr(shipped ? predict_shipped_oid() : predict_columns_oid(), FLOAT8OID,
							 args, InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	rewritten->location = call->location;
	return (Node *) rewritten;
}

PG_FUNCTION_INFO_V1(unlearn_predict_support);

/*
 * Planner support for every function of the predict capability (predict,
 * predict_proba, _predict_columns, evaluate): a caller without it is
 * refused, naming the model; predict/predict_proba(model, record) is
 * rewritten (rewrite_row_call).  Anything else is left alone (and gives
 * its usual answer or error at run time).
 */
Datum
unlearn_predict_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestSimplify *req;
	Node	   *rewritten;
	int32		shipped_id;

	if (!IsA(rawreq, SupportRequestSimplify))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestSimplify *) rawreq;
	if (req->root == NULL || req->fcall->args == NIL)
		PG_RETURN_POINTER(NULL);
	check_predict_capability(req->root, req->fcall);
	rewritten = rewrite_row_call(req->fcall, req->root->parse->rtable, &shipped_id);
	if (shipped_id != 0)
		distributed_depend_on_model(req->root->glob, shipped_id);
	PG_RETURN_POINTER(rewritten);
}

/*
 * Shipping predictions before Citus plans.  Citus writes the queries its
 * workers run from the query as parsed for some shapes (a router query,
 * a subquery, a CTE inlined), before the planner's simplification, where
 * the support function above rewrites a call: the workers would get
 * predict(model, row) and have no model.  So a planner hook, ahead of
 * Citus's, rewrites every row-form call over a Citus table in the parse
 * tree, at every query level, into its shipped form.
 */
typedef struct ShipContext
{
	Query	   *query;			/* the level the calls' Vars belong to */
	List	   *models;			/* ids of the models shipped */
} ShipContext;

static planner_hook_type prev_planner = NULL;
static Node *ship_mutator(Node *node, ShipContext *cxt);

/* Rewrites the calls of one query level (and, through the mutator, the levels below). */
static Query *
ship_query(Query *query, ShipContext *cxt)
{
	Query	   *outer = cxt->query;
	Query	   *result;

	cxt->query = query;
	result = query_tree_mutator(query, ship_mutator, cxt, 0);
	cxt->query = outer;
	return result;
}

/* The mutator of ship_query. */
static Node *
ship_mutator(Node *node, ShipContext *cxt)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Query))
		return (Node *) ship_query((Query *) node, cxt);
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *call = (FuncExpr *) node;
		int32		shipped_id;
		Node	   *rewritten;

		if (is_row_form(call) && get_func_namespace(call->funcid) ==
			get_namespace_oid("unlearn", false))
		{
			rewritten = rewrite_row_call(call, cxt->query->rtable, &shipped_id);
			if (shipped_id != 0)
			{
				cxt->models = lappend_int(cxt->models, shipped_id);
				return rewritten;
			}
		}
	}
	return expression_tree_mutator(node, ship_mutator, cxt);
}

/* Whether a query level or any below it calls a function named predict or predict_proba. */
static bool
calls_predict_walker(Node *node, void *arg)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, calls_predict_walker, arg, 0);
	if (IsA(node, FuncExpr) && is_row_form((FuncExpr *) node))
		return true;
	return expression_tree_walker(node, calls_predict_walker, arg);
}

/* The planner hook: ships predictions over Citus tables, then plans (see above). */
static PlannedStmt *
ship_predictions(Query *parse, const char *query_string, int cursor_options,
				 ParamListInfo bound_params)
{
	ShipContext cxt = {0};
	PlannedStmt *result;
	ListCell   *lc;

	if (calls_predict_walker((Node *) parse, NULL) &&
		OidIsValid(get_extension_oid("citus", true)))
	{
		if (pg_proc_aclcheck(LookupFuncName(list_make2(makeString("unlearn"), makeString("predict")),
											2, (Oid[]) {TEXTOID, RECORDOID}, false),
							 GetUserId(), ACL_EXECUTE) == ACLCHECK_OK)
			parse = ship_query(parse, &cxt);
	}
	result = prev_planner ? prev_planner(parse, query_string, cursor_options, bound_params) :
		standard_planner(parse, query_string, cursor_options, bound_params);
	if (cxt.models != NIL)
	{
		PlannerGlobal glob = {0};

		glob.relationOids = result->relationOids;
		foreach(lc, cxt.models)
			distributed_depend_on_model(&glob, lfirst_int(lc));
		result->relationOids = glob.relationOids;
		result->dependsOnRole = true;
	}
	return result;
}

/* Installs the planner hook that ships predictions (see above). */
void
predict_init(void)
{
	prev_planner = planner_hook;
	planner_hook = ship_predictions;
}
