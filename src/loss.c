/*-------------------------------------------------------------------------
 *
 * loss.c
 *	  The model types: a loss by its stored or its caller's name, and what
 *	  each takes as a target.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "loss.h"

static const LossFunctions *const all_losses[] = {
	&loss_linear, &loss_logistic, &loss_poisson, &loss_multinomial
};

/* The loss of a model type name as stored, or NULL if the name is unknown. */
const LossFunctions *
loss_by_name(const char *name)
{
	int			i;

	for (i = 0; i < lengthof(all_losses); i++)
		if (strcmp(name, all_losses[i]->name) == 0)
			return all_losses[i];
	return NULL;
}

/*
 * The loss of a model type as a caller names it: its own name or ridge
 * (linear is ridge regression), in any case; NULL if unknown.
 */
const LossFunctions *
loss_by_type_name(const char *name)
{
	int			i;

	if (pg_strcasecmp(name, "ridge") == 0)
		return &loss_linear;
	for (i = 0; i < lengthof(all_losses); i++)
		if (pg_strcasecmp(name, all_losses[i]->name) == 0)
			return all_losses[i];
	return NULL;
}

/* Whether y is a target the loss takes: finite, and 0/1 or a count if it must be. */
bool
loss_target_valid(const LossFunctions *loss, double y)
{
	if (!isfinite(y))
		return false;
	switch (loss->target)
	{
		case LOSS_TARGET_REAL:
			return true;
		case LOSS_TARGET_BINARY:
			return y == 0.0 || y == 1.0;
		case LOSS_TARGET_COUNT:
			return y >= 0.0 && y == floor(y);
		case LOSS_TARGET_CLASS:
			return y >= 0.0 && y == floor(y);	/* a class index */
	}
	return false;
}
