/*-------------------------------------------------------------------------
 *
 * subxact.c
 *	  Running a step in a subtransaction of its own (see subxact.h), as
 *	  PL/pgSQL runs a block with an EXCEPTION clause.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "subxact.h"

/* Runs step(arg) in a subtransaction; false with *error if it raised one catches accepts. */
bool
subxact_try(SubxactStep step, void *arg, SubxactCatches catches, ErrorData **error)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	*error = NULL;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		step(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (!catches(edata->sqlerrcode))
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		*error = edata;
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* Data exceptions (class 22): the data cannot be fitted. */
bool
subxact_catches_data_errors(int sqlerrcode)
{
	return ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_DATA_EXCEPTION;
}
