/*-------------------------------------------------------------------------
 *
 * serial.h
 *	  Flat binary serialization of plain values into a StringInfo and back,
 *	  for what a parallel worker must rebuild (a dataset's pass state).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_SERIAL_H
#define UNLEARN_SERIAL_H

#include "postgres.h"

#include "lib/stringinfo.h"

/* Appends an int, a double, a string (NULL allowed) to buf. */
extern void serial_put_int(StringInfo buf, int64 v);
extern void serial_put_double(StringInfo buf, double v);
extern void serial_put_string(StringInfo buf, const char *s);

/* Reads them back in the same order, advancing *cursor. */
extern int64 serial_get_int(const char **cursor);
extern double serial_get_double(const char **cursor);
extern char *serial_get_string(const char **cursor);

#endif							/* UNLEARN_SERIAL_H */
