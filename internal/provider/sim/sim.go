// Package sim is a simulated pool provider for the demo and for tests. It
// keeps members in memory, can add latency and random failures, and can be
// switched offline or told to fail its next calls, so that the rest of berth
// can be exercised without real servers or identity providers.
//
// Simulated pools live in a Registry keyed by pool name. Every handle that New
// returns for the same name shares one member set, so a job worker that
// constructs a provider per job sees what earlier jobs delivered, and a test
// can look at what a pool holds with Get.
//
// A pool whose Config sets Dir also keeps its members as files in that
// directory, one file per member named by its key (file name, or id), so that
// what was delivered survives the process and can be checked from another one
// (crash tests). The directory is then the truth: List, Keys, Has, File, Len
// and Members read it.
package sim

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/provider"
)

// Config is a simulated pool's configuration as stored with the pool.
type Config struct {
	// LatencyMS is added to every call, in milliseconds.
	LatencyMS int `json:"latency_ms"`
	// FailRate is the probability, from 0 to 1, that a Put or Remove fails
	// with a retryable error.
	FailRate float64 `json:"fail_rate"`
	// Down makes the pool unreachable: every call fails with a retryable
	// error. SetDown overrides it at run time.
	Down bool `json:"down"`
	// Dir, when set, is an absolute directory where members are also kept as
	// files (mode 0600, written atomically), so deliveries outlive the
	// process. It is created on first Put.
	Dir string `json:"dir,omitempty"`
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	if c.LatencyMS < 0 {
		return fmt.Errorf("sim: latency_ms must not be negative, got %d", c.LatencyMS)
	}
	if !(c.FailRate >= 0 && c.FailRate <= 1) { // also rejects NaN
		return fmt.Errorf("sim: fail_rate must be between 0 and 1, got %v", c.FailRate)
	}
	if c.Dir != "" && !filepath.IsAbs(c.Dir) {
		return fmt.Errorf("sim: dir must be an absolute path, got %q", c.Dir)
	}
	return nil
}

// ErrInjected is wrapped by every failure the simulator makes up, so tests can
// tell injected failures from real ones with errors.Is.
var ErrInjected = errors.New("sim: injected failure")

// Registry holds simulated pools by name. Its zero value is not usable; use
// NewRegistry or the package's Default registry.
type Registry struct {
	mu    sync.Mutex
	pools map[string]*pool
}

// NewRegistry returns an empty registry, for tests that want isolation from
// the Default registry.
func NewRegistry() *Registry {
	return &Registry{pools: make(map[string]*pool)}
}

// Default is the process-wide registry used by New, Get and Reset.
var Default = NewRegistry()

// New returns a handle on the simulated pool called name in the Default
// registry, creating the pool if needed. See Registry.New.
func New(name string, cfg Config) *Sim { return Default.New(name, cfg) }

// Get returns a handle on the pool called name in the Default registry, or nil
// if New was never called for it.
func Get(name string) *Sim { return Default.Get(name) }

// Reset forgets every pool in the Default registry.
func Reset() { Default.Reset() }

// New returns a handle on the simulated pool called name, creating the pool if
// needed. All handles for one name share the pool's members and run-time
// overrides (SetDown, SetFailNext). cfg becomes the pool's configuration for
// every handle: the latest New wins, as the latest stored pool configuration
// would.
func (r *Registry) New(name string, cfg Config) *Sim {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pools[name]
	if !ok {
		p = &pool{members: make(map[string]provider.Member)}
		r.pools[name] = p
	}
	p.mu.Lock()
	p.cfg = cfg
	p.mu.Unlock()
	return &Sim{name: name, p: p}
}

// Get returns a handle on the pool called name, or nil if New was never called
// for it.
func (r *Registry) Get(name string) *Sim {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pools[name]
	if !ok {
		return nil
	}
	return &Sim{name: name, p: p}
}

// Reset forgets every pool. Handles obtained before keep working on the
// forgotten pools but no longer share them with later New calls.
func (r *Registry) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pools = make(map[string]*pool)
}

// pool is the state shared by every handle on one simulated pool.
type pool struct {
	mu      sync.Mutex
	cfg     Config
	members map[string]provider.Member // by key, see memberKey

	downSet bool // SetDown was called; down overrides cfg.Down
	down    bool

	failNext  int
	failClass provider.Class

	puts, removes int // successful calls
}

// Sim is a handle on one simulated pool. It implements provider.Provider and
// is safe for concurrent use.
type Sim struct {
	name string
	p    *pool
}

var _ provider.Provider = (*Sim)(nil)

// Name returns the pool's name.
func (s *Sim) Name() string { return s.name }

// SetDown takes the pool offline (true) or brings it back (false), overriding
// Config.Down until the pool is forgotten.
func (s *Sim) SetDown(down bool) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.p.downSet, s.p.down = true, down
}

// SetFailNext makes the next n Put calls fail with an error of class c,
// replacing any earlier SetFailNext. n <= 0 cancels it.
func (s *Sim) SetFailNext(n int, c provider.Class) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.p.failNext, s.p.failClass = max(n, 0), c
}

// Put stores the member, replacing an earlier copy.
func (s *Sim) Put(ctx context.Context, m provider.Member) error {
	key, cfg, err := s.enterMember(ctx, "put", m)
	if err != nil {
		return err
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if s.p.failNext > 0 {
		s.p.failNext--
		return &provider.Error{Class: s.p.failClass, Err: fmt.Errorf("sim %s: put %s: %w (forced)", s.name, key, ErrInjected)}
	}
	if randomFailure(cfg) {
		return &provider.Error{Class: provider.Retryable, Err: fmt.Errorf("sim %s: put %s: %w", s.name, key, ErrInjected)}
	}
	if cfg.Dir != "" {
		if err := writeFile(cfg.Dir, key, m.Data); err != nil {
			return &provider.Error{Class: provider.Retryable, Err: fmt.Errorf("sim %s: put %s: %w", s.name, key, err)}
		}
	}
	m.Data = slices.Clone(m.Data)
	s.p.members[key] = m
	s.p.puts++
	return nil
}

// Remove deletes the member; a member already absent is not an error.
func (s *Sim) Remove(ctx context.Context, m provider.Member) error {
	key, cfg, err := s.enterMember(ctx, "remove", m)
	if err != nil {
		return err
	}
	if randomFailure(cfg) {
		return &provider.Error{Class: provider.Retryable, Err: fmt.Errorf("sim %s: remove %s: %w", s.name, key, ErrInjected)}
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if cfg.Dir != "" {
		if err := os.Remove(filepath.Join(cfg.Dir, key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return &provider.Error{Class: provider.Retryable, Err: fmt.Errorf("sim %s: remove %s: %w", s.name, key, err)}
		}
	}
	delete(s.p.members, key)
	s.p.removes++
	return nil
}

// List returns the keys of the members present, sorted: file names for
// members that have one, ids for the others.
func (s *Sim) List(ctx context.Context) ([]string, error) {
	cfg, err := s.enter(ctx, "list")
	if err != nil {
		return nil, err
	}
	if cfg.Dir != "" {
		keys, err := readKeys(cfg.Dir)
		if err != nil {
			return nil, &provider.Error{Class: provider.Retryable, Err: fmt.Errorf("sim %s: list: %w", s.name, err)}
		}
		return keys, nil
	}
	return s.Keys(), nil
}

// Check fails with a retryable error while the pool is down.
func (s *Sim) Check(ctx context.Context) error {
	_, err := s.enter(ctx, "check")
	return err
}

// enter waits out the configured latency and fails if ctx is done or the pool
// is down. It returns the configuration in force.
func (s *Sim) enter(ctx context.Context, op string) (Config, error) {
	s.p.mu.Lock()
	cfg := s.p.cfg
	s.p.mu.Unlock()

	if cfg.LatencyMS > 0 {
		t := time.NewTimer(time.Duration(cfg.LatencyMS) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return cfg, &provider.Error{Class: provider.Retryable, Err: fmt.Errorf("sim %s: %s: %w", s.name, op, err)}
	}

	s.p.mu.Lock()
	down := cfg.Down
	if s.p.downSet {
		down = s.p.down
	}
	s.p.mu.Unlock()
	if down {
		return cfg, &provider.Error{Class: provider.Retryable, Err: fmt.Errorf("sim %s: %s: pool is down: %w", s.name, op, ErrInjected)}
	}
	return cfg, nil
}

// enterMember is the start of Put and Remove: m's key (memberKey), checked
// as a file name when the pool is kept in a directory, and enter's
// configuration.
func (s *Sim) enterMember(ctx context.Context, op string, m provider.Member) (string, Config, error) {
	key, err := memberKey(m)
	if err != nil {
		return "", Config{}, err
	}
	cfg, err := s.enter(ctx, op)
	if err != nil {
		return "", Config{}, err
	}
	return key, cfg, fileKey(cfg, key)
}

func randomFailure(cfg Config) bool {
	return cfg.FailRate > 0 && rand.Float64() < cfg.FailRate
}

// memberKey is the key a member is stored under: its file name for servers,
// its id otherwise. Names a real server would refuse are member-permanent.
func memberKey(m provider.Member) (string, error) {
	if m.FileName != "" {
		if strings.ContainsAny(m.FileName, "/\\\x00") || strings.HasPrefix(m.FileName, ".") {
			return "", provider.Errorf(provider.MemberPermanent, "sim: invalid file name %q", m.FileName)
		}
		return m.FileName, nil
	}
	if m.ID == "" {
		return "", provider.Errorf(provider.MemberPermanent, "sim: member has neither id nor file name")
	}
	return m.ID, nil
}

// fileKey checks, for a pool kept in a directory, that key can be a file
// name there (ids are not checked by memberKey).
func fileKey(cfg Config, key string) error {
	if cfg.Dir == "" {
		return nil
	}
	if strings.ContainsAny(key, "/\\\x00") || strings.HasPrefix(key, ".") {
		return provider.Errorf(provider.MemberPermanent, "sim: %q cannot be a file name in %s", key, cfg.Dir)
	}
	return nil
}

// writeFile stores data as dir/name atomically: a temporary file (its name
// starts with a dot, so List skips it) is written, synced and renamed.
func writeFile(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// readKeys lists the member files in dir, sorted; a missing dir is empty.
func readKeys(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			keys = append(keys, e.Name())
		}
	}
	return keys, nil // os.ReadDir sorts by name
}

// Inspection, for tests and the demo. For a pool kept in a directory they
// read the directory, ignoring latency, failures and Down; unreadable
// entries count as absent.

// dir returns the pool's directory, "" when it is kept in memory only.
func (s *Sim) dir() string {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return s.p.cfg.Dir
}

// Keys returns the keys of the members present, sorted, ignoring latency,
// failures and Down.
func (s *Sim) Keys() []string {
	if dir := s.dir(); dir != "" {
		keys, _ := readKeys(dir)
		if keys == nil {
			keys = []string{}
		}
		return keys
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	keys := make([]string, 0, len(s.p.members))
	for k := range s.p.members {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Members returns copies of the members present, sorted by key. For a pool
// kept in a directory, FileName and Data come from the files and ID from
// what this process put (empty for files it did not write).
func (s *Sim) Members() []provider.Member {
	if dir := s.dir(); dir != "" {
		keys, _ := readKeys(dir)
		out := make([]provider.Member, 0, len(keys))
		for _, k := range keys {
			data, err := os.ReadFile(filepath.Join(dir, k))
			if err != nil {
				continue
			}
			s.p.mu.Lock()
			m, ok := s.p.members[k]
			s.p.mu.Unlock()
			if !ok || m.FileName == "" {
				m = provider.Member{}
			}
			m.FileName, m.Data = k, data
			out = append(out, m)
		}
		return out
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	out := make([]provider.Member, 0, len(s.p.members))
	for _, m := range s.p.members {
		m.Data = slices.Clone(m.Data)
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b provider.Member) int {
		ka, _ := memberKey(a)
		kb, _ := memberKey(b)
		return strings.Compare(ka, kb)
	})
	return out
}

// Has reports whether a member with this key (file name or id) is present.
func (s *Sim) Has(key string) bool {
	if dir := s.dir(); dir != "" {
		if fileKey(Config{Dir: dir}, key) != nil {
			return false
		}
		fi, err := os.Stat(filepath.Join(dir, key))
		return err == nil && fi.Mode().IsRegular()
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	_, ok := s.p.members[key]
	return ok
}

// File returns a copy of the data delivered under fileName.
func (s *Sim) File(fileName string) ([]byte, bool) {
	if dir := s.dir(); dir != "" {
		if fileName == "" || fileKey(Config{Dir: dir}, fileName) != nil {
			return nil, false
		}
		data, err := os.ReadFile(filepath.Join(dir, fileName))
		if err != nil {
			return nil, false
		}
		return data, true
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	m, ok := s.p.members[fileName]
	if !ok || m.FileName == "" {
		return nil, false
	}
	return slices.Clone(m.Data), true
}

// Len returns the number of members present.
func (s *Sim) Len() int {
	if dir := s.dir(); dir != "" {
		keys, _ := readKeys(dir)
		return len(keys)
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return len(s.p.members)
}

// Calls returns how many Put and Remove calls have succeeded on the pool.
func (s *Sim) Calls() (puts, removes int) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return s.p.puts, s.p.removes
}
