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

// Weights (Pool.Weight, at least 1) scale what each strategy compares, so a
// pool of weight w counts as w pools of its size:
//
//   - pack: a pool that does not hold the key ranks by free room × weight
//     (a new key starts where weighted room is largest); holders of the key
//     still fill fullest first, so weight does not split a key;
//   - spread: a pool ranks by used / (capacity × weight), so a pool of
//     weight 2 takes new members until its load is twice its peers'.
//
// With weight 1 the weighted scores equal ScorePack and ScoreSpread.

// ScorePackWeighted is [ScorePack] for a pool of weight w: a pool that does
// not hold the key scores 1 - 1/(1+free×w).
func ScorePackWeighted(holdsKey bool, free, w int) float64 {
	if holdsKey || free <= 0 {
		return ScorePack(holdsKey, free)
	}
	return 1 - 1/float64(1+int64(free)*int64(max(w, 1)))
}

// ScoreSpreadWeighted is [ScoreSpread] for a pool of weight w:
// 1 - used/(capacity×w).
func ScoreSpreadWeighted(used, capacity, w int) float64 {
	if capacity <= 0 || used >= capacity {
		return 0
	}
	return 1 - float64(used)/(float64(capacity)*float64(max(w, 1)))
}
