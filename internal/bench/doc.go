// Package bench holds berth's end-to-end performance benchmarks: persisted
// batch allocation (alloc.Service.ImportAccounts with the River enqueuer on
// SQLite and PostgreSQL) measured against a baseline that performs only the
// same database writes. The code is all in _test files; see docs/bench.md
// for how to run them and for recorded results.
package bench
