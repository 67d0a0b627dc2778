/*-------------------------------------------------------------------------
 *
 * unlearn.c
 *	  Module entry point: settings (GUCs) and build information.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <cblas.h>
#include <lapacke.h>

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "audit.h"
#include "collected.h"
#include "ddl.h"
#include "parallel_sums.h"
#include "predict.h"
#include "refresh_worker.h"
#include "request_reference.h"
#include "scratch.h"
#include "distributed.h"
#include "unlearn.h"

PG_MODULE_MAGIC;

double		unlearn_min_rcond = 1e-12;
int			unlearn_train_memory = 524288;
int			unlearn_progress_interval = 10000;
bool		unlearn_log_to_server = true;

static TimestampTz progress_last;

void		_PG_init(void);

/* Defines the extension's settings. */
void
_PG_init(void)
{
	DefineCustomRealVariable("unlearn.min_rcond",
							 "Smallest reciprocal condition number accepted for a Hessian.",
							 "Estimated (LAPACK dpocon) on the Jacobi-scaled Hessian, so it does not depend on the columns' units; a Hessian below it is rejected as ill-conditioned.",
							 &unlearn_min_rcond,
							 1e-12, 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("unlearn.train_memory",
							"Memory training may use to hold the rows of a model.",
							"Larger training sets are read from the table again on every solver pass.",
							&unlearn_train_memory,
							524288, 1024, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("unlearn.progress_interval",
							"Time between progress messages of long training runs.",
							"-1 turns them off; 0 reports every step.",
							&unlearn_progress_interval,
							10000, -1, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("unlearn.log_to_server",
							 "Copies every erasure log entry and chain link to the server log.",
							 "The copy outside the database keeps rolled-back entries too; turning it off (superusers only) saves about 0.05 ms an entry. The log table and its hash chain are written either way.",
							 &unlearn_log_to_server,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	parallel_sums_define();
	distributed_init();
	predict_init();

	/* After the other settings, before the prefix is reserved: see there. */
	refresh_worker_init();
	request_reference_define();
	MarkGUCPrefixReserved("unlearn");
	audit_init();
	collected_init();
	ddl_init();
	scratch_init();
}

/* Starts the progress clock of a long operation. */
void
unlearn_progress_start(void)
{
	progress_last = GetCurrentTimestamp();
}

/* Sends a progress NOTICE if unlearn.progress_interval has passed. */
void
unlearn_progress(const char *fmt,...)
{
	TimestampTz now;
	char		buf[256];
	va_list		args;

	if (unlearn_progress_interval < 0)
		return;
	now = GetCurrentTimestamp();
	if (unlearn_progress_interval > 0 &&
		!TimestampDifferenceExceeds(progress_last, now, unlearn_progress_interval))
		return;
	progress_last = now;
	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	ereport(NOTICE, (errmsg_internal("%s", buf)));
}

/* Raises a 22004 error naming the argument (what) if it is NULL. */
void
unlearn_require_argument(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/* Raises the error for one of unlearn's triggers called in a way it does not serve. */
void
unlearn_misused_trigger(FunctionCallInfo fcinfo, const char *how)
{
	ereport(ERROR,
			(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
			 errmsg("function %s must be fired %s", get_func_name(fcinfo->flinfo->fn_oid), how),
			 errdetail("It is one of unlearn's own triggers, which unlearn creates itself.")));
}

PG_FUNCTION_INFO_V1(unlearn_version);

/* Version of the loaded shared library (must match the SQL script). */
Datum
unlearn_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(UNLEARN_VERSION));
}

PG_FUNCTION_INFO_V1(unlearn_build_info);

/* Components the library was built and linked with: one row each. */
Datum
unlearn_build_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	lapack_int	major,
				minor,
				patch;
	char		lapack[64];
	const char *rows[][2] = {
		{"unlearn", UNLEARN_VERSION},
		{"postgresql", PG_VERSION},
		{"blas", openblas_get_config()},
		{"lapack", lapack},
	};
	int			i;

	LAPACKE_ilaver(&major, &minor, &patch);
	snprintf(lapack, sizeof(lapack), "%d.%d.%d", (int) major, (int) minor, (int) patch);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < (int) lengthof(rows); i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(rows[i][0]);
		values[1] = CStringGetTextDatum(rows[i][1]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
