/*-------------------------------------------------------------------------
 *
 * lineage.h
 *	  Which source rows trained each model: chunks of sorted keys with
 *	  fingerprints in unlearn.lineage.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_LINEAGE_H
#define UNLEARN_LINEAGE_H

#include "dataset.h"

/* Entries per lineage chunk: keeps a chunk tuple under the TOAST threshold. */
#define LINEAGE_CHUNK_ENTRIES 96

/* Writes the lineage of a model from entries sorted by (key, key_text). */
extern void lineage_write(int32 model_id, const LineageEntry *entries,
						  int64 nentries);

/* Deletes every lineage chunk of a model. */
extern void lineage_delete(int32 model_id);

/*
 * Looks a key up in a model's lineage; returns true and its fingerprint
 * if the row is there.  key_text is the key's text for hashed keys.
 */
extern bool lineage_lookup(int32 model_id, int64 key, const char *key_text,
						   int64 *fingerprint);

/* A key to take out of a model's lineage, and what lineage held for it. */
typedef struct LineageRemoval
{
	int64		key;			/* integer key, or hash of key_text */
	char	   *key_text;		/* NULL for integer keys */
	int			row;			/* the caller's index for this row */
	bool		found;			/* out: the key was in lineage (now removed) */
	int64		fingerprint;	/* out: its stored fingerprint */
} LineageRemoval;

/*
 * Removes keys from a model's lineage, chunk by chunk (each touched chunk
 * read once, rewritten once); marks which were there, with their stored
 * fingerprints.  The array is sorted in place.
 */
extern void lineage_remove(int32 model_id, LineageRemoval *keys, int nkeys);

/*
 * Adds entries (sorted by key, key_text; keys not yet present) to a
 * model's lineage, each into the chunk covering it; a chunk that grows to
 * twice its size is split.
 */
extern void lineage_insert(int32 model_id, const LineageEntry *entries, int n);

/* Orders lineage entries by key, then key text (a qsort comparator). */
extern int	lineage_compare_entries(const void *a, const void *b);

/*
 * Every key in a model's lineage, sorted by (key, key_text), as entries
 * (fingerprints included); *n receives their number.
 */
extern LineageEntry *lineage_load(int32 model_id, int64 *n);

/* The same, as the active snapshot sees it (a reader's consistent view). */
extern LineageEntry *lineage_load_snapshot(int32 model_id, int64 *n);

#endif							/* UNLEARN_LINEAGE_H */
