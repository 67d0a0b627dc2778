/*-------------------------------------------------------------------------
 *
 * classes.h
 *	  The classes of a multinomial model's target: integer, boolean, text
 *	  or enum values, in the target type's own order, with their row counts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_CLASSES_H
#define UNLEARN_CLASSES_H

#include "fmgr.h"
#include "utils/hsearch.h"

/* The distinct values of a target column, as training reads them. */
typedef struct ClassSet
{
	Oid			type;			/* the target's base type */
	int			n;				/* classes */
	int			cap;
	Datum	   *values;			/* per class (provisional order until finished) */
	char	  **labels;			/* their text, as the type's output function writes it */
	int64	   *rows;			/* training rows of each */
	int		   *position;		/* once finished: provisional id -> position */
	bool		finished;
	HTAB	   *by_label;		/* label -> provisional id */
	FmgrInfo	out;
	MemoryContext cxt;
} ClassSet;

/* Whether a target of this base type can be a multinomial model's classes. */
extern bool classes_type_allowed(Oid type);

/* An empty set of classes of a target of base type type, in cxt. */
extern ClassSet *classes_create(Oid type, MemoryContext cxt);

/* Counts one row of class value; returns its provisional id. */
extern int	classes_add(ClassSet *cs, Datum value);

/*
 * Sorts the classes by the type's default ordering (text by the database's
 * collation, enums by their declared order) and fills position.
 */
extern void classes_finish(ClassSet *cs);

/* The position of a value's class once finished, or -1 if it is not one. */
extern int	classes_find(const ClassSet *cs, Datum value);

#endif							/* UNLEARN_CLASSES_H */
