-- test/bench/citus.sql: the Citus section's tables (bench_citus in run).
-- cbench: the rows of bench, distributed by id over the workers (the
-- model's source); cbench_plain: the same again, with no model (the
-- DELETE latency's twin).  citus.shard_count is Citus's default, 32.
\set ON_ERROR_STOP on

CREATE TABLE cbench (LIKE bench);
ALTER TABLE cbench ADD PRIMARY KEY (id);
SELECT create_distributed_table('cbench', 'id');
INSERT INTO cbench SELECT * FROM bench;
CREATE TABLE cbench_plain (LIKE bench);
ALTER TABLE cbench_plain ADD PRIMARY KEY (id);
SELECT create_distributed_table('cbench_plain', 'id', colocate_with => 'cbench');
INSERT INTO cbench_plain SELECT * FROM bench;
VACUUM ANALYZE cbench;
VACUUM ANALYZE cbench_plain;
