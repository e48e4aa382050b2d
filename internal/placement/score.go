package placement

// Scores are for display and for comparing candidates across rules: a higher
// score is better. The index orders pools by the exact integer quantities the
// scores are computed from, so the candidate with the highest score wins and
// equal scores are broken by priority (lower first), then name.

// ScorePack scores a pool with free room for the pack strategy.
//
// A pool already holding the member's affinity key scores 1 + 1/free, in
// (1, 2]: the fuller the pool, the higher, so one pool fills before the next
// is used (2 means one seat left). Any other pool scores 1 - 1/(1+free), in
// [0.5, 1): the more free room, the higher, so a new key starts where it has
// room to grow. Every holder outranks every other pool. A pool without free
// room scores 0.
func ScorePack(holdsKey bool, free int) float64 {
	if free <= 0 {
		return 0
	}
	if holdsKey {
		return 1 + 1/float64(free)
	}
	return 1 - 1/float64(1+free)
}

// ScoreSpread scores a pool for the spread strategy: 1 - used/capacity, in
// (0, 1] for a pool with free room, so the least loaded pool scores highest.
// A pool without free room scores 0.
func ScoreSpread(used, capacity int) float64 {
	if capacity <= 0 || used >= capacity {
		return 0
	}
	return 1 - float64(used)/float64(capacity)
}
