/*-------------------------------------------------------------------------
 *
 * serial.c
 *	  Flat binary serialization of plain values (see serial.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "serial.h"

/* Appends an int64. */
void
serial_put_int(StringInfo buf, int64 v)
{
	appendBinaryStringInfo(buf, (const char *) &v, sizeof(v));
}

/* Appends a double. */
void
serial_put_double(StringInfo buf, double v)
{
	appendBinaryStringInfo(buf, (const char *) &v, sizeof(v));
}

/* Appends a string with its length (-1 for NULL). */
void
serial_put_string(StringInfo buf, const char *s)
{
	int64		len = s ? (int64) strlen(s) : -1;

	serial_put_int(buf, len);
	if (s)
		appendBinaryStringInfo(buf, s, (int) len);
}

/* Reads an int64. */
int64
serial_get_int(const char **cursor)
{
	int64		v;

	memcpy(&v, *cursor, sizeof(v));
	*cursor += sizeof(v);
	return v;
}

/* Reads a double. */
double
serial_get_double(const char **cursor)
{
	double		v;

	memcpy(&v, *cursor, sizeof(v));
	*cursor += sizeof(v);
	return v;
}

/* Reads a string (palloc'd), or NULL. */
char *
serial_get_string(const char **cursor)
{
	int64		len = serial_get_int(cursor);
	char	   *s;

	if (len < 0)
		return NULL;
	s = palloc(len + 1);
	memcpy(s, *cursor, len);
	s[len] = '\0';
	*cursor += len;
	return s;
}
