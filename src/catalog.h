/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Model state in the extension's tables: reading and writing models
 *	  and their terms.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_CATALOG_H
#define UNLEARN_CATALOG_H

#include "fmgr.h"
#include "utils/array.h"
#include "storage/itemptr.h"
#include "utils/jsonb.h"

#include "loss.h"
#include "options.h"
#include "solver.h"

/* What one parameter multiplies: intercept, numeric column, or a level. */
typedef struct ModelTerm
{
	char	   *column;			/* NULL for the intercept */
	char	   *level;			/* categorical level, else NULL */
	double		center;			/* the input enters as (x - center) / scale */
	double		scale;
	int64		level_rows;		/* training rows with the level; -1 if none */
} ModelTerm;

/* A model as stored: configuration, terms and parameters. */
typedef struct StoredModel
{
	int32		model_id;
	char	   *name;
	const LossFunctions *loss;
	Oid			source;
	int32		source_id;		/* the source's identity in the log */
	char	   *key_column;
	Oid			key_type;
	char	   *target_column;
	ArrayType  *feature_columns;	/* text[] */
	Jsonb	   *options_jsonb;
	TrainOptions options;
	int64		version;
	char	   *state;
	int			nterms;
	int			nclasses;		/* multinomial: K (theta is K blocks of nterms); else 1 */
	char	  **class_labels;	/* multinomial: the classes, in position order */
	int64	   *class_rows;		/* ... and their current training rows */
	double	   *theta;
	ModelTerm  *terms;
	bool		refresh_requested;	/* a background refresh is asked for */
} StoredModel;

/* A freshly trained model, ready to be written. */
typedef struct TrainedModel
{
	const char *name;
	const LossFunctions *loss;
	Oid			source;
	int32		source_id;		/* the source's identity in the log */
	const char *key_column;
	Oid			key_type;
	const char *target_column;
	ArrayType  *feature_columns;	/* text[] of the columns actually used */
	Jsonb	   *skipped_features;	/* features = NULL: {column: reason} */
	Jsonb	   *options;
	FitResult  *fit;
	int64		rows_trained;
	int64		rows_skipped;
	int64		rows_held_out;	/* kept out by the option holdout */
	ModelTerm  *terms;			/* fit->nterms of them */
	double	   *feature_sums;	/* standardize: features_term_sums; else NULL */
	struct ClassSet *classes;	/* multinomial: its classes (fit->nparams = K nterms) */
	Oid			owner;			/* the role that created it */
} TrainedModel;

/* Whether a model of that name exists. */
extern bool catalog_model_exists(const char *name);

/* The source table of a model, read as stored (nothing checked); 0 if none. */
extern Oid	catalog_model_source(const char *name);

/* The name and source of model_id, read as stored; NULL (and *source 0) if none. */
extern char *catalog_model_by_id(int32 model_id, Oid *source);

/* Inserts a new model and its terms; returns its model_id. */
extern int32 catalog_insert_model(const TrainedModel *m);

/* Replaces the fit of an existing model (retrain); bumps its version. */
extern void catalog_replace_fit(int32 model_id, const TrainedModel *m);

/* Deletes a model, its terms and its lineage; returns its source (or 0). */
extern Oid	catalog_delete_model(const char *name);

/*
 * Loads a model by name into the current memory context; lock_row takes
 * its row FOR UPDATE (writers of one model serialize on it).  A missing
 * model is an error.
 */
extern StoredModel *catalog_load_model(const char *name, bool lock_row);

/* The unlearn.models row of a model, as the calling function's result. */
extern Datum catalog_models_row(FunctionCallInfo fcinfo, const char *name);

/*
 * Loads what erasure changes in a model whose row the caller locked:
 * parameters, Hessian, X'y, X'X, theta_ref, M and B (into a RemovalState,
 * declared in removal.h), the tolerance unit, and the rows it holds now.
 */
struct RemovalState;
extern void catalog_load_removal(int32 model_id, int d, int nclasses, struct RemovalState *s,
								 double *gradient_scale, int64 *rows_now);

/*
 * Marks a model whose rows left it without a new fit (needs_retrain,
 * empty): rows_erased += removed, the state, a new version; returns it.
 */
extern int64 catalog_set_state(int32 model_id, int64 removed, const char *state);

/*
 * Records a retrain that found no row: state empty, no rows trained (the
 * skipped ones counted), lineage and pending rows gone; returns the new
 * version.
 */
extern int64 catalog_set_empty(int32 model_id, int64 rows_skipped);

/*
 * Saves a ready model after rows left it: its new state from s and
 * whether a background refresh is asked for, straight through
 * the table AM, at the row version the caller locked (ctid); returns its
 * new version, and the new row's xmin and ctid.
 */
extern int64 catalog_save_ready(int32 model_id, ItemPointer ctid,
								const struct RemovalState *s, int64 removed,
								bool refresh_requested,
								TransactionId *xmin, ItemPointer new_ctid);

/* Multinomial: the model's classes are these K now (others left with no row). */
extern void catalog_replace_classes(int32 model_id, int K, char *const *labels,
									const int64 *rows);

/* Multinomial: adds delta (K, in position order) to the classes' row counts. */
extern void catalog_update_class_rows(int32 model_id, int K, const int64 *delta);

/*
 * Applies level-count changes to a model's categorical terms (delta per
 * term) and deletes the terms marked dead, renumbering the rest.
 */
extern void catalog_update_terms(int32 model_id, int d, const int64 *delta,
								 const bool *dead);

/*
 * Renames a column in a model's stored configuration: key, target,
 * features and terms (as the extension's owner).
 */
extern void catalog_rename_column(const char *name, const char *old_name,
								  const char *new_name);

/* Replaces the stored text of a model's filter (printed again after a rename). */
extern void catalog_set_filter(const char *name, const char *text);

/*
 * Rewrites the center and scale of a model's numeric terms (the frame its
 * state moved to, preprocessing.c).
 */
extern void catalog_update_frame(int32 model_id, const ModelTerm *terms, int d);

/* Raises the error for a model that does not exist. */
extern void catalog_missing_model(const char *name) pg_attribute_noreturn();

#endif							/* UNLEARN_CATALOG_H */
