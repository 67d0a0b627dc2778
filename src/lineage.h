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

#endif							/* UNLEARN_LINEAGE_H */
