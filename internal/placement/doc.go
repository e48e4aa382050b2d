// Package placement decides which pool a member goes into.
//
// It is a pure engine: no I/O, no clock and no randomness, so the same pools
// and the same request always give the same [Decision]. A decision is made in
// three steps (docs/design.md, "Placement"):
//
//  1. filter: the pool has the request's kind, is active, has free room,
//     carries every label the request asks for and is not excluded;
//  2. score by strategy: [StrategyPack] keeps one affinity key (a script) on
//     as few pools as possible, [StrategySpread] evens the load;
//  3. explain: every decision carries an [Explanation] — how many pools each
//     filter dropped, the rule that chose, the winner and the best candidates.
//
// [Index] keeps the pools in ordered sets so that a decision costs O(log n)
// in the number of pools instead of a scan. The index only proposes: the
// database enforces capacity, and a lost race is reported back with
// [Index.MarkFull] before the next candidate is asked for.
package placement
