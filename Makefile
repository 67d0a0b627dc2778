# unlearn: PGXS build.  `make` builds, `make install` installs into the
# PostgreSQL given by PG_CONFIG.  `make test`, `make demo` and `make bench`
# set up everything they need (packages, a throwaway cluster) themselves.

EXTENSION   = unlearn
EXTVERSION  = 0.1.0
MODULE_big  = unlearn
OBJS        = src/unlearn.o src/linalg.o src/arrayutil.o src/selftest.o \
              src/options.o src/features.o src/dataset.o src/loss.o src/loss_linear.o \
              src/loss_logistic.o src/loss_poisson.o src/loss_multinomial.o src/classes.o src/solver.o src/catalog.o src/lineage.o \
              src/train.o src/predict.o src/encoder.o src/removal.o src/erase.o src/triggers.o src/rectify.o src/refresh.o \
              src/spi_cache.o src/source_models.o \
              src/erasure_state.o src/tablerow.o src/privileges.o src/verify.o \
              src/audit.o src/digest.o src/pending.o src/evaluate.o \
              src/model_filter.o src/scratch.o src/hugemem.o src/source_scan.o src/hierarchy.o \
              src/collected.o src/ddl.o src/request_reference.o src/subxact.o \
              src/refresh_journal.o src/refresh_worker.o src/preprocessing.o src/parallel_sums.o src/citus_guard.o src/serial.o \
              src/distributed.o src/distributed_sums.o
DATA        = extension/unlearn--$(EXTVERSION).sql
PGFILEDESC  = "unlearn - in-database models that forget erased rows"

# pg_regress suites (sql/, expected/); test/run drives them on its own
# cluster, so these lists are the single source of truth for the runner.
REGRESS     = install linalg train train_errors front_door wdbc erase erase_chunks audit privileges verify audit_roles digests partitions filters first_use schema_changes numerics background_refresh preprocessing holdout poisson multinomial parallel
ISOLATION   = train_concurrency erase_concurrency audit_chain verify_concurrency erase_races erase_deadlock erase_lock_scope ddl_locks

# -Wextra minus two checks that PostgreSQL's own headers fail: parameters
# unused by design (PG_FUNCTION_ARGS, inline list helpers) and the signed/
# unsigned ?: inside ARR_DATA_PTR.  pgvector builds with the same pair.
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare
# OpenBLAS's single-threaded build (Debian's libopenblas0-serial), found
# through the library's own search path: the default pthread build starts
# a worker thread in every backend that loads the module, and a backend must
# stay single-threaded (signals, and the worker spins on a CPU after calls).
BLAS_SERIAL_DIR = /usr/lib/$(shell gcc -print-multiarch)/openblas-serial
SHLIB_LINK  = -llapacke -lopenblas -lcrypto -Wl,--disable-new-dtags,-rpath,$(BLAS_SERIAL_DIR)

PG_CONFIG  ?= pg_config
PGXS       := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: rebuild every object when a header changes.
$(OBJS): $(wildcard src/*.h)

.PHONY: test demo bench print-suites

# Every test suite on a throwaway cluster; ends with "N passed, N failed".
test:
	bash test/run

# The demo on a throwaway cluster.
demo:
	bash demo/run

# Benchmarks; print ratios measured in one run.
bench:
	bash test/bench/run

# Used by test/run to learn the suite lists.
print-suites:
	@echo "REGRESS=$(REGRESS)"
	@echo "ISOLATION=$(ISOLATION)"
