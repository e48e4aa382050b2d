package pooladmin

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider"
)

// ProbeResult is one pool's probe outcome.
type ProbeResult struct {
	Pool     string
	OK       bool
	Failures int
	Changed  model.PoolStatus // the status the probe set, if any
	Err      error
}

// Probe checks every pool the monitor may judge: active pools, and offline
// pools it took offline itself. After threshold consecutive failures an
// active pool goes offline; a pool the monitor took offline comes back to
// active on its first good probe. A status set by anyone else (an admin, a
// provider's answer) is never overridden: the change is conditional on the
// status the probe saw, and offline pools set by others are not probed.
func (s *Service) Probe(ctx context.Context, threshold int, timeout time.Duration, check func(ctx context.Context, p model.Pool) error) ([]ProbeResult, error) {
	pools, err := s.st.PoolList(ctx, "")
	if err != nil {
		return nil, err
	}
	var judged []model.Pool
	for _, p := range pools {
		if p.Status == model.StatusActive || (p.Status == model.StatusOffline && p.StatusActor == model.ActorMonitor) {
			judged = append(judged, p)
		}
	}
	results := make([]ProbeResult, len(judged))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, p := range judged {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			results[i] = ProbeResult{Pool: p.Name, Err: check(cctx, p)}
			results[i].OK = results[i].Err == nil
		}()
	}
	wg.Wait()
	for i, p := range judged {
		r := &results[i]
		n, err := s.st.PoolProbeResult(ctx, p.ID, r.OK)
		if err != nil {
			return results, err
		}
		r.Failures = n
		switch {
		case !r.OK && p.Status == model.StatusActive && provider.Classify(r.Err) == provider.PoolPermanent:
			// Credentials refused (401/403, host key): no point waiting for
			// K probes, and the monitor will not bring it back by itself.
			if err := s.rt.PoolRefused(ctx, p.ID, r.Err); err != nil {
				return results, err
			}
			r.Changed = model.StatusCredentialInvalid
		case !r.OK && p.Status == model.StatusActive && n >= threshold:
			msg := fmt.Sprintf("%d consecutive failed probes: %v", n, r.Err)
			if ok, err := s.rt.SetPoolStatus(ctx, p.ID, model.StatusOffline, msg, model.ActorMonitor, model.StatusActive); err != nil {
				return results, err
			} else if ok {
				r.Changed = model.StatusOffline
			}
		case r.OK && p.Status == model.StatusOffline:
			if ok, err := s.rt.SetPoolStatus(ctx, p.ID, model.StatusActive, "probe succeeded again", model.ActorMonitor, model.StatusOffline); err != nil {
				return results, err
			} else if ok {
				r.Changed = model.StatusActive
			}
		}
	}
	return results, nil
}
