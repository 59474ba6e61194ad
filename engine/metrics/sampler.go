package metrics

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// ReadStats reads a server's own statistics: raw counters and gauges by
// name, a figure the server does not provide absent, never zero; and an
// opaque identity of the server that answered, "" when unknown. The
// engine reads them through a target's driver.ServerStatser.
type ReadStats func(ctx context.Context) (stats map[string]float64, server string, err error)

// ServerFigure is one figure derived from a target's samples, reported as
// `<target>.server.<Name>` (engine/driver.ServerMetric).
type ServerFigure struct {
	Name, Help string
	// Compute derives the figure from the first and last samples and the
	// peak of every sample (per raw name); ok is false when the samples
	// lack what it needs.
	Compute func(first, last, peak map[string]float64, elapsed time.Duration) (v float64, ok bool)
}

// SampledTarget is a target whose server statistics a Sampler reads.
type SampledTarget struct {
	Name    string
	Read    ReadStats
	Figures []ServerFigure
}

// Sampler reads server statistics of targets: once at the start, every
// interval, and once at the end. It keeps the first, last and peak value
// of each raw figure, so memory does not grow with the run.
//
// Lifecycle: StartSampler, then Stop once. Both are called from one
// goroutine; the sampling runs on a goroutine of its own.
type Sampler struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	targets []*sampled
	started time.Time
}

type sampled struct {
	name      string
	read      ReadStats
	figures   []ServerFigure
	first     map[string]float64
	last      map[string]float64
	peak      map[string]float64
	samples   int
	lastErr   string
	firstTime time.Time
	lastTime  time.Time
	// The servers that answered, for servers that say (distinct
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

// StartSampler takes the first sample of every target and samples them
// every interval (default 1s) until Stop or until ctx is done.
func StartSampler(ctx context.Context, targets []SampledTarget, interval time.Duration) *Sampler {
	s := &Sampler{done: make(chan struct{}), started: time.Now()}
	for _, t := range targets {
		s.targets = append(s.targets, &sampled{name: t.Name, read: t.Read, figures: t.Figures, peak: map[string]float64{}})
	}
	s.sampleAll(ctx)
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

func (s *Sampler) sampleAll(ctx context.Context) {
	for _, t := range s.targets {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		stats, id, err := t.read(cctx)
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

// Stop takes the final sample and derives every target's server figures.
// Changes of server are timed from runStart (the sampler's start when
// zero). A figure the samples cannot give is NaN: unavailable, not zero.
func (s *Sampler) Stop(runStart time.Time) []*TargetSummary {
	s.cancel()
	<-s.done
	// The final sample uses a fresh context: the run's may be cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	s.sampleAll(ctx)
	cancel()
	if runStart.IsZero() {
		runStart = s.started
	}
	var out []*TargetSummary
	for _, t := range s.targets {
		ts := &TargetSummary{Name: t.name, Server: map[string]float64{}, Help: map[string]string{}, Samples: t.samples, SampleErr: t.lastErr,
			Servers: t.nserver}
		if t.first != nil {
			ts.FirstSample, ts.LastSample = t.firstTime, t.lastTime
		}
		for _, c := range t.changes {
			ts.ServerChanges = append(ts.ServerChanges, max(c.Sub(runStart), 0))
		}
		for _, m := range t.figures {
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
