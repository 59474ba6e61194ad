package engine

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
)

// sampler reads server statistics of every target that offers them: once at
// the start, every interval, and once at the end. It keeps the first, last
// and peak value of each raw figure, so memory does not grow with the run.
type sampler struct {
	prog    *Program
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	targets []*sampled
	started time.Time
}

type sampled struct {
	name      string
	statser   driver.ServerStatser
	metrics   []driver.ServerMetric
	first     map[string]float64
	last      map[string]float64
	peak      map[string]float64
	samples   int
	lastErr   string
	firstTime time.Time
	lastTime  time.Time
	// The servers that answered, for drivers that say (distinct
	// identities, at most maxServers kept), the last one, and when a sample
	// first showed another.
	servers []string
	nserver int
	lastID  string
	changes []time.Time
}

// maxServers bounds the identities and changes a target keeps: memory does
// not grow with a run that fails over again and again.
const maxServers = 16

// noteServer records which server answered a sample taken at now. The
// sampler's lock is held.
func (t *sampled) noteServer(id string, now time.Time) {
	if id == "" {
		return
	}
	if t.lastID != "" && id != t.lastID && len(t.changes) < maxServers {
		t.changes = append(t.changes, now)
	}
	t.lastID = id
	if !slices.Contains(t.servers, id) {
		t.nserver++
		if len(t.servers) < maxServers {
			t.servers = append(t.servers, id)
		}
	}
}

func (prog *Program) startSampling(ctx context.Context, targets []openTarget) *sampler {
	s := &sampler{prog: prog, done: make(chan struct{}), started: time.Now()}
	for _, t := range targets {
		st, ok := t.target.(driver.ServerStatser)
		if !ok {
			continue
		}
		var ms []driver.ServerMetric
		if sm, ok := prog.drivers[t.name].(driver.ServerMetricser); ok {
			ms = sm.ServerMetrics()
		}
		s.targets = append(s.targets, &sampled{name: t.name, statser: st, metrics: ms, peak: map[string]float64{}})
	}
	s.sampleAll(ctx)
	interval := prog.opts.ServerInterval
	if interval <= 0 {
		interval = time.Second
	}
	sctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	go func() {
		defer close(s.done)
		if len(s.targets) == 0 {
			return
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-tick.C:
				s.sampleAll(sctx)
			}
		}
	}()
	return s
}

func (s *sampler) sampleAll(ctx context.Context) {
	for _, t := range s.targets {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var stats map[string]float64
		var id string
		var err error
		if is, ok := t.statser.(driver.IdentifiedServerStatser); ok {
			stats, id, err = is.IdentifiedServerStats(cctx)
		} else {
			stats, err = t.statser.ServerStats(cctx)
		}
		cancel()
		now := time.Now()
		s.mu.Lock()
		if err != nil {
			t.lastErr = err.Error()
			s.mu.Unlock()
			continue
		}
		if t.first == nil {
			t.first, t.firstTime = stats, now
		}
		t.last, t.lastTime = stats, now
		for k, v := range stats {
			if p, ok := t.peak[k]; !ok || v > p {
				t.peak[k] = v
			}
		}
		t.samples++
		t.noteServer(id, now)
		s.mu.Unlock()
	}
}

// stop takes the final sample and derives every target's server figures.
func (s *sampler) stop() []*metrics.TargetSummary {
	s.cancel()
	<-s.done
	// The final sample uses a fresh context: the run's may be cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	s.sampleAll(ctx)
	cancel()
	s.prog.mu.Lock()
	runStart := s.prog.runStart
	s.prog.mu.Unlock()
	if runStart.IsZero() {
		runStart = s.started
	}
	var out []*metrics.TargetSummary
	for _, t := range s.targets {
		ts := &metrics.TargetSummary{Name: t.name, Server: map[string]float64{}, Help: map[string]string{}, Samples: t.samples, SampleErr: t.lastErr,
			Servers: t.nserver}
		for _, c := range t.changes {
			ts.ServerChanges = append(ts.ServerChanges, max(c.Sub(runStart), 0))
		}
		for _, m := range t.metrics {
			v, ok := math.NaN(), false
			if t.first != nil {
				v, ok = m.Compute(t.first, t.last, t.peak, t.lastTime.Sub(t.firstTime))
			}
			if !ok || math.IsInf(v, 0) {
				v = math.NaN()
			}
			ts.Server[m.Name] = v
			ts.Order = append(ts.Order, m.Name)
			ts.Help[m.Name] = m.Help
		}
		out = append(out, ts)
	}
	return out
}
