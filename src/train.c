/*-------------------------------------------------------------------------
 *
 * train.c
 *	  SQL entry points that fit models: create_model, retrain, drop_model,
 *	  and the lineage look-up lineage_of.
 *
 * Training locks the source in SHARE mode for the rest of the
 * transaction: concurrent INSERT/UPDATE/DELETE wait, so no erasure can
 * fall between the rows read and the model's commit.  Readers are not
 * blocked.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "audit.h"
#include "catalog.h"
#include "dataset.h"
#include "distributed.h"
#include "digest.h"
#include "erase.h"
#include "erasure_state.h"
#include "lineage.h"
#include "privileges.h"
#include "solver.h"
#include "train.h"
#include "unlearn.h"

/*
 * Checks the source and the caller's rights on it, then locks out its
 * writers.  Naming it needs USAGE on its schema (also when it is given by
 * OID, which skips the name look-up that checks it); reading needs
 * SELECT; holding writers off needs what LOCK
 * TABLE ... IN SHARE ROW EXCLUSIVE MODE needs (UPDATE, DELETE or
 * TRUNCATE), so a read-only user cannot stall a table.  SHARE ROW
 * EXCLUSIVE (not just SHARE) because the erasure triggers may have to be
 * created; it also makes two trainings on one table take turns instead
 * of deadlocking on a lock upgrade.
 */
static void
lock_source(Oid relid)
{
	Oid			namespace;
	AclResult	aclresult;

	dataset_check_source(relid);
	namespace = get_rel_namespace(relid);
	aclresult = pg_namespace_aclcheck(namespace, GetUserId(), ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_SCHEMA, get_namespace_name(namespace));
	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (aclresult == ACLCHECK_OK)
		aclresult = pg_class_aclcheck(relid, GetUserId(),
									  ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));
	LockRelationOid(relid, ShareRowExclusiveLock);
	if (distributed_is_source(relid))
		distributed_lock(relid);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	/* A partitioned source's writers write its partitions: lock them all. */
	if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		(void) find_all_inheritors(relid, ShareRowExclusiveLock, NULL);
}

/* The terms of a fitted feature set, in parameter order. */
static ModelTerm *
terms_of(const FeatureSet *fs)
{
	ModelTerm  *terms = palloc0(sizeof(ModelTerm) * fs->nterms);
	int			t = 0;
	int			j;

	if (fs->intercept)
	{
		terms[t].scale = 1.0;
		terms[t].level_rows = -1;
		t++;
	}
	for (j = 0; j < fs->nfeatures; j++)
	{
		const FeatureColumn *col = &fs->cols[j];

		if (col->kind == COLUMN_CATEGORICAL)
		{
			int			k;

			for (k = 0; k < col->nlevels; k++)
			{
				ModelTerm  *term = &terms[col->first_term + col->level_position[k]];

				term->column = col->name;
				term->level = col->level_text[k];
				term->scale = 1.0;
				term->level_rows = col->level_count[k];
			}
			t += col->nlevels;
		}
		else
		{
			terms[t].column = col->name;
			terms[t].center = col->center;
			terms[t].scale = col->scale;
			terms[t].level_rows = -1;
			t++;
		}
	}
	Assert(t == fs->nterms);
	return terms;
}

/* The names of the feature columns used, as a text[]. */
static ArrayType *
feature_names(const FeatureSet *fs)
{
	Datum	   *elems = palloc(sizeof(Datum) * fs->nfeatures);
	int			j;

	for (j = 0; j < fs->nfeatures; j++)
		elems[j] = CStringGetTextDatum(fs->cols[j].name);
	return construct_array(elems, fs->nfeatures, TEXTOID, -1, false, TYPALIGN_INT);
}

/* The columns features = NULL left out, as {column: reason}. */
static Jsonb *
skipped_features_jsonb(const List *skipped)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	foreach(lc, skipped)
	{
		SkippedFeature *sk = lfirst(lc);

		if (buf.len > 1)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, sk->name);
		appendStringInfoString(&buf, ": ");
		escape_json(&buf, sk->reason);
	}
	appendStringInfoChar(&buf, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * Trains a model and writes it: a new model when model_id is 0, else a
 * replacement fit of that model.  The rows are read with the caller's
 * rights checked, the filter runs as the model's owner, and the model is
 * written as the extension's owner.  Returns the model_id.
 */
static int32
train_and_store(const char *name, Oid relid, const char *target,
				ArrayType *features, const LossFunctions *loss,
				TrainOptions *opts, int32 model_id, Oid owner, bool *empty)
{
	MemoryContext train_cxt = AllocSetContextCreate(CurrentMemoryContext,
													"unlearn training",
													ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(train_cxt);
	DatasetSpec spec;
	Dataset    *ds;
	TrainedModel m;
	PrivilegeSwitch s;
	bool		distributed;

	lock_source(relid);			/* again, if the caller did: harmless */
	unlearn_progress_start();

	spec.relid = relid;
	spec.target = target;
	spec.features = features;
	spec.target_kind = loss->target;
	spec.options = opts;
	spec.model_name = name;
	spec.filter_owner = owner;
	spec.filter_stored = model_id != 0;
	spec.allow_empty = model_id != 0;	/* a retrain of an emptied table: state empty */
	ds = dataset_load(&spec);
	distributed = ds->distributed != NULL;
	if (distributed && model_id != 0 && !distributed_model(model_id))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot retrain model \"%s\": it was trained before \"%s\" was distributed",
						name, get_rel_name(relid)),
				 errdetail("Its lineage is this node's; a model of a distributed table keeps it on the workers."),
				 errhint("Drop the model and create it again.")));
	*empty = ds->nrows == 0;
	if (ds->nrows == 0)
	{
		privileges_enter_catalog(&s);
		lineage_delete(model_id);
		if (distributed)
			distributed_write_lineage(model_id, ds);	/* none, and an empty journal */
		(void) catalog_set_empty(model_id, ds->nskipped);
		dataset_close(ds);
		erase_ensure_triggers(relid);
		privileges_leave(&s);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(train_cxt);
		return model_id;
	}

	memset(&m, 0, sizeof(m));
	m.fit = solver_fit(ds, loss, opts, name, NULL);
	/* Told once, to the trainer; the model's row keeps it (separable). */
	if (m.fit->separable)
		ereport(WARNING,
				(errmsg("the classes of model \"%s\" are linearly separable", name),
				 errdetail("Without a penalty its weights grow without bound; the fit stopped at an arbitrary point. Column \"separable\" of unlearn.models records it."),
				 errhint("Set the option \"l2\" above 0.")));
	m.name = name;
	m.loss = loss;
	m.source = relid;
	m.source_id = digest_source_id(relid, ds->key_type);
	m.key_column = ds->key_name;
	m.key_type = ds->key_type;
	m.target_column = ds->target_name;
	m.feature_columns = feature_names(ds->fs);
	m.skipped_features = skipped_features_jsonb(ds->fs->skipped);
	m.options = train_options_to_jsonb(opts);
	m.rows_trained = ds->nrows;
	m.rows_skipped = ds->nskipped;
	m.rows_held_out = ds->nheld_out;
	m.terms = terms_of(ds->fs);
	m.classes = ds->classes;
	if (opts->standardize)
	{
		m.feature_sums = palloc(sizeof(double) * 2 * ds->fs->nterms);
		features_term_sums(ds->fs, m.feature_sums);
	}
	m.owner = owner;

	privileges_enter_catalog(&s);
	/* Erasures will need a digest key: made now, not by the first of them. */
	{
		uint8		secret[DIGEST_SECRET_LEN];

		(void) digest_current_secret(secret);
		explicit_bzero(secret, sizeof(secret));
	}
	if (model_id == 0)
		model_id = catalog_insert_model(&m);
	else
	{
		catalog_replace_fit(model_id, &m);
		lineage_delete(model_id);
	}
	if (ds->distributed)
		distributed_write_lineage(model_id, ds);
	else
		lineage_write(model_id, ds->entries, ds->nentries);
	dataset_close(ds);
	erase_ensure_triggers(relid);
	privileges_leave(&s);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(train_cxt);
	return model_id;
}

/* The unlearn.models row of a model, read as the extension's owner. */
static Datum
models_row(FunctionCallInfo fcinfo, const char *name)
{
	PrivilegeSwitch s;
	Datum		row;

	privileges_enter_catalog(&s);
	row = catalog_models_row(fcinfo, name);
	privileges_leave(&s);
	return row;
}

PG_FUNCTION_INFO_V1(unlearn_create_model);

/* create_model(name, source, target, features, model_type, options). */
Datum
unlearn_create_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *type;
	const LossFunctions *loss;
	TrainOptions opts;
	PrivilegeSwitch s;
	bool		exists;
	bool		empty;

	unlearn_require_argument(fcinfo, 0, "model name");
	unlearn_require_argument(fcinfo, 1, "source table");
	unlearn_require_argument(fcinfo, 2, "target column");
	unlearn_require_argument(fcinfo, 4, "model type");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	type = text_to_cstring(PG_GETARG_TEXT_PP(4));

	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty")));
	loss = loss_by_type_name(type);
	if (loss == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown model type \"%s\"", type),
				 errhint("Model types are linear (also called ridge), logistic, poisson and multinomial, in any case.")));
	parse_train_options(PG_ARGISNULL(5) ? NULL : PG_GETARG_JSONB_P(5), &opts);
	/* Softmax does not change when every class's logit moves alike: only the penalty fixes it. */
	if (loss->multiclass && !(opts.l2 > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a multinomial model needs l2 above 0"),
				 errdetail("Its class probabilities do not change when the same vector is added to every class's parameters: without a penalty the fit is not unique."),
				 errhint("Set the option \"l2\" above 0 (a small penalty such as 1e-6 makes the fit unique).")));
	if (opts.exposure != NULL && loss->target != LOSS_TARGET_COUNT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"exposure\" is for poisson models, not %s ones", loss->name),
				 errdetail("It names the column a count was observed over; its log is the offset of the row's logit.")));
	/* The caller's rights on the source come first; then writers wait. */
	lock_source(PG_GETARG_OID(1));
	privileges_enter_catalog(&s);
	exists = catalog_model_exists(name);
	privileges_leave(&s);
	if (exists)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" already exists", name)));

	/* The model belongs to the role that creates it. */
	train_and_store(name, PG_GETARG_OID(1), text_to_cstring(PG_GETARG_TEXT_PP(2)),
					PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3),
					loss, &opts, 0, GetUserId(), &empty);
	privileges_enter_catalog(&s);
	audit_log_model("create", name, NULL, NULL, NULL);
	privileges_leave(&s);
	PG_RETURN_DATUM(models_row(fcinfo, name));
}

PG_FUNCTION_INFO_V1(unlearn_retrain);

/*
 * retrain(model): a fresh fit on the current rows, same configuration;
 * for the model's owner (or a role that has its privileges).
 */
Datum
unlearn_retrain(PG_FUNCTION_ARGS)
{
	char	   *name;
	Oid			owner;
	PrivilegeSwitch s;
	StoredModel *m;
	AuditModelState *before;
	Oid			source;
	bool		empty;

	unlearn_require_argument(fcinfo, 0, "model name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	owner = privileges_check_owner(name);
	privileges_enter_catalog(&s);
	source = catalog_model_source(name);
	privileges_leave(&s);
	/*
	 * The source's lock before the model's row, as erasure takes them (the
	 * log's comes at the end: taken here it would hold every erasure of the
	 * database off for the whole fit).
	 */
	lock_source(source);
	privileges_enter_catalog(&s);
	m = catalog_load_model(name, true);
	before = audit_model_state(name);
	privileges_leave(&s);
	if (m->options.where != NULL)
		privileges_check_owner_exists(name, owner);
	train_and_store(name, m->source, m->target_column, m->feature_columns,
					m->loss, &m->options, m->model_id, owner, &empty);
	privileges_enter_catalog(&s);
	audit_log_model("retrain", name, before, empty ? "empty" : NULL,
					empty ? "Its source holds no row to train on." : NULL);
	privileges_leave(&s);
	PG_RETURN_DATUM(models_row(fcinfo, name));
}

/*
 * Drops a model with its terms and lineage, logged (method: NULL for a
 * drop_model, "cascade" when its source or a column went; detail: why).
 * The caller is the extension's owner (privileges_enter_catalog).
 */
void
model_drop(const char *name, const char *method, const char *detail)
{
	AuditModelState *before;
	Oid			source;

	/* The source's lock first, then the model's: erasure's order. */
	source = catalog_model_source(name);	/* a corrupt model can be dropped too */
	if (OidIsValid(source) && get_rel_name(source) != NULL)
		LockRelationOid(source, ShareRowExclusiveLock);
	before = audit_model_state(name);
	if (before == NULL)
		catalog_missing_model(name);
	source = catalog_delete_model(name);
	erasure_state_forget(before->model_id);
	audit_log_model("drop", name, before, method, detail);
	erase_drop_triggers_if_unused(source);
}

PG_FUNCTION_INFO_V1(unlearn_drop_model);

/* drop_model(model): the model, its terms and its lineage; for its owner. */
Datum
unlearn_drop_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	PrivilegeSwitch s;

	unlearn_require_argument(fcinfo, 0, "model name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	(void) privileges_check_owner(name);
	privileges_enter_catalog(&s);
	model_drop(name, NULL, NULL);
	privileges_leave(&s);
	PG_RETURN_VOID();
}

/* Converts a key datum of any type to the key column's type by text. */
static Datum
key_in_type(Datum key, Oid given_type, Oid key_type)
{
	Oid			outfunc,
				infunc,
				ioparam;
	bool		isvarlena;
	char	   *text;

	if (given_type == key_type)
		return key;
	getTypeOutputInfo(given_type, &outfunc, &isvarlena);
	text = OidOutputFunctionCall(outfunc, key);
	getTypeInputInfo(key_type, &infunc, &ioparam);
	return OidInputFunctionCall(infunc, text, ioparam, -1);
}

PG_FUNCTION_INFO_V1(unlearn_lineage_of);

/* lineage_of(source, key): the models whose lineage holds that row. */
Datum
unlearn_lineage_of(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			source = PG_GETARG_OID(0);
	Datum		key = PG_GETARG_DATUM(1);
	Oid			given_type = getBaseType(get_fn_expr_argtype(fcinfo->flinfo, 1));
	Oid			types[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(source)};
	MemoryContext cxt = CurrentMemoryContext;
	int32	   *ids;
	char	  **names;
	int64	   *versions;
	Oid		   *key_types;
	PrivilegeSwitch s;
	bool		found;
	uint64		n,
				i;

	InitMaterializedSRF(fcinfo, 0);

	privileges_enter_catalog(&s);
	SPI_connect();
	if (SPI_execute_with_args("SELECT model_id, name, version, key_type"
							  " FROM unlearn.model WHERE source = $1 ORDER BY name",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the models of relation %u", source);
	n = SPI_processed;
	ids = MemoryContextAlloc(cxt, sizeof(int32) * Max(n, 1));
	names = MemoryContextAlloc(cxt, sizeof(char *) * Max(n, 1));
	versions = MemoryContextAlloc(cxt, sizeof(int64) * Max(n, 1));
	key_types = MemoryContextAlloc(cxt, sizeof(Oid) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old;

		ids[i] = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		old = MemoryContextSwitchTo(cxt);
		names[i] = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		MemoryContextSwitchTo(old);
		versions[i] = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		key_types[i] = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));
	}
	SPI_finish();
	privileges_leave(&s);

	for (i = 0; i < n; i++)
	{
		Datum		typed = key_in_type(key, given_type, key_types[i]);
		FmgrInfo	key_out;
		char	   *key_text;
		int64		key64;
		int64		fingerprint;

		if (!dataset_key_is_integer(key_types[i]))
		{
			Oid			outfunc;
			bool		isvarlena;

			getTypeOutputInfo(key_types[i], &outfunc, &isvarlena);
			fmgr_info(outfunc, &key_out);
		}
		if (distributed_model(ids[i]))
		{
			/* rows journaled and not taken out yet: taken out first, if this transaction can */
			distributed_fold_if_writable(ids[i], source);
			found = distributed_lineage_holds(ids[i], key_types[i], typed);
		}
		else
		{
			key64 = dataset_key_value(key_types[i], typed, &key_out, &key_text);
			privileges_enter_catalog(&s);
			found = lineage_lookup(ids[i], key64, key_text, &fingerprint);
			privileges_leave(&s);
		}
		if (found)
		{
			Datum		row[2];
			bool		nulls[2] = {false, false};

			row[0] = CStringGetTextDatum(names[i]);
			row[1] = Int64GetDatum(versions[i]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
		}
	}
	return (Datum) 0;
}
