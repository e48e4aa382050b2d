// Package replay runs the recorded life of a fleet — arrivals, departures,
// pools added, resized, failing and recovering — through the placement
// engine again under a strategy of one's choosing, and measures the fleet
// the way it really went and the way it would have gone (issue 14 §4,
// `berth replay`).
//
// It is pure like the placement core it drives: no I/O, no clock and no
// randomness. The caller hands it an [Input] — pools, members and events in
// time order, read from the history table by the store (store.ReplayInput)
// — and gets [Metrics] back:
//
//   - [Actual] follows the recorded placements and moves (OpPlace, OpMove):
//     which pool each member really got, and when;
//   - [Run] ignores them and decides itself with a [placement.Index]: an
//     arrival is placed at once or waits in a FIFO queue of its kind (and
//     label constraints) until room appears; a pool that fails (banned,
//     credential_invalid, offline) or drains has its members re-placed at
//     once, or queued ahead of new arrivals.
//
// Both columns come from the same events, so they differ only by the
// placement decisions. Events before [Input.Since] are a warm-up, followed
// as recorded in both, so a replay starts from the fleet as it really was;
// the metrics count from Since on.
//
// The model is deliberately simple: a move is instantaneous (the real one
// is make-before-break), a member moves only because its pool failed or
// drained (a paid move a user asked for is not replayed), a pool's labels,
// priority and weight are today's, one strategy applies to every kind and
// group, and health scores are not replayed.
package replay
