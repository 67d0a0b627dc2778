/*-------------------------------------------------------------------------
 *
 * model_filter.c
 *	  A model's stored "where" filter, run over single rows as its owner.
 *
 * evaluate scores a model on the rows that pass its filter, and a
 * rectification must know whether a training row still passes it after an
 * UPDATE.  Either way the filter runs with its owner's rights, in a
 * security-restricted operation with search_path pinned
 * (privileges_enter_role), as at training.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tupconvert.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"

#include "dataset.h"
#include "model_filter.h"
#include "subxact.h"
#include "privileges.h"

/* A model's filter, compiled to run as its owner. */
struct ModelFilter
{
	Oid			owner;
	ExprState  *qual;
	EState	   *estate;
	TupleDesc	desc;			/* the source's row type */
	TupleTableSlot *slot;		/* for rows given as datums or converted */
	TupleDesc	rows_desc;		/* the row type of the rows converted last */
	TupleConversionMap *map;	/* rows_desc -> desc, or NULL: the same */
	TupleTableSlot *conv_slot;	/* converted rows */
};

/* Compiles the stored filter of m (which has one) to run as its owner. */
ModelFilter *
model_filter_compile(StoredModel *m)
{
	ModelFilter *f = palloc0(sizeof(ModelFilter));
	PrivilegeSwitch s;
	Relation	rel;

	f->owner = privileges_filter_owner(m->name);
	rel = table_open(m->source, AccessShareLock);
	f->estate = CreateExecutorState();
	privileges_enter_role(&s, f->owner);
	f->qual = dataset_compile_filter(rel, m->options.where, NULL, f->estate, NULL);
	privileges_leave(&s);
	f->desc = CreateTupleDescCopy(RelationGetDescr(rel));
	f->slot = MakeSingleTupleTableSlot(f->desc, &TTSOpsHeapTuple);
	table_close(rel, NoLock);
	return f;
}

/* What compile_step compiles, and the filter it made. */
typedef struct CompileStep
{
	StoredModel *model;
	ModelFilter *filter;
} CompileStep;

/* model_filter_compile as a subxact_try step. */
static void
compile_step(void *arg)
{
	CompileStep *step = arg;

	step->filter = model_filter_compile(step->model);
}

/*
 * The errors that say a stored filter cannot run any more (an owner or a
 * function gone, ...); a cancel, resource exhaustion or an internal
 * error is not one.
 */
static bool
filter_cannot_run(int sqlerrcode)
{
	int			category = ERRCODE_TO_CATEGORY(sqlerrcode);

	return category != ERRCODE_OPERATOR_INTERVENTION &&
		category != ERRCODE_INSUFFICIENT_RESOURCES &&
		category != ERRCODE_INTERNAL_ERROR;
}

/*
 * Compiles the stored filter of m, as model_filter_compile, but returns
 * NULL with the reason in *why instead of raising an error when it cannot
 * be compiled any more (its owner was dropped, a function it calls is
 * gone): for callers that then mark the model rather than fail.
 */
ModelFilter *
model_filter_try_compile(StoredModel *m, char **why)
{
	CompileStep step = {m, NULL};
	ErrorData  *error;

	*why = NULL;
	if (subxact_try(compile_step, &step, filter_cannot_run, &error))
		return step.filter;
	*why = psprintf("Its \"where\" filter cannot run any more: %s", error->message);
	return NULL;
}

/*
 * Whether a row passes: a row of the model's source, or of another table
 * of its hierarchy (a partitioned ancestor), converted by column name.
 */
bool
model_filter_passes(ModelFilter *f, TupleTableSlot *row)
{
	ExprContext *econtext = GetPerTupleExprContext(f->estate);
	PrivilegeSwitch s;
	bool		pass;

	if (row->tts_tupleDescriptor != f->desc &&
		!equalTupleDescs(row->tts_tupleDescriptor, f->desc))
	{
		if (f->rows_desc != row->tts_tupleDescriptor)
		{
			f->rows_desc = row->tts_tupleDescriptor;
			f->map = convert_tuples_by_name(f->rows_desc, f->desc);
		}
		if (f->map)
		{
			if (f->conv_slot == NULL)
				f->conv_slot = MakeSingleTupleTableSlot(f->desc, &TTSOpsVirtual);
			row = execute_attr_map_slot(f->map->attrMap, row, f->conv_slot);
		}
	}
	econtext->ecxt_scantuple = row;
	privileges_enter_role(&s, f->owner);
	pass = ExecQual(f->qual, econtext);
	privileges_leave(&s);
	ResetExprContext(econtext);
	return pass;
}

/* The same for a row given as a composite datum of the source's row type. */
bool
model_filter_passes_datum(ModelFilter *f, HeapTupleHeader row)
{
	HeapTupleData tuple;
	bool		pass;

	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	ExecStoreHeapTuple(&tuple, f->slot, false);
	pass = model_filter_passes(f, f->slot);
	ExecClearTuple(f->slot);
	return pass;
}
