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
#include "executor/executor.h"
#include "utils/rel.h"

#include "dataset.h"
#include "model_filter.h"
#include "privileges.h"

/* A model's filter, compiled to run as its owner. */
struct ModelFilter
{
	Oid			owner;
	ExprState  *qual;
	EState	   *estate;
	TupleTableSlot *slot;		/* for rows given as datums */
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
	f->slot = MakeSingleTupleTableSlot(CreateTupleDescCopy(RelationGetDescr(rel)),
									   &TTSOpsHeapTuple);
	table_close(rel, NoLock);
	return f;
}

/* Whether a row of the model's source (in a slot of its row type) passes. */
bool
model_filter_passes(ModelFilter *f, TupleTableSlot *row)
{
	ExprContext *econtext = GetPerTupleExprContext(f->estate);
	PrivilegeSwitch s;
	bool		pass;

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
