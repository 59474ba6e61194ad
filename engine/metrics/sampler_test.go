package metrics_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/runplan/runplan/engine/metrics"
)

// counting is a server whose "ops" counter grows by 10 a sample and whose
// "mem" gauge peaks at the second sample; ids, when set, name the server
// that answers each sample in turn (the last one repeats).
type counting struct {
	mu  sync.Mutex
	n   int
	ids []string
}

func (c *counting) read(context.Context) (map[string]float64, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	mem := 100.0
	if c.n == 2 {
		mem = 500
	}
	id := ""
	if len(c.ids) > 0 {
		id = c.ids[min(c.n, len(c.ids))-1]
	}
	return map[string]float64{"ops": float64(10 * c.n), "mem": mem}, id, nil
}

func failing(context.Context) (map[string]float64, string, error) {
	return nil, "", errors.New("NOAUTH")
}

var figures = []metrics.ServerFigure{
	{Name: "ops_rate", Help: "ops per second", Compute: func(first, last, _ map[string]float64, elapsed time.Duration) (float64, bool) {
		if elapsed <= 0 {
			return 0, false
		}
		return (last["ops"] - first["ops"]) / elapsed.Seconds(), true
	}},
	{Name: "peak_mem", Help: "peak memory", Compute: func(_, _, peak map[string]float64, _ time.Duration) (float64, bool) {
		v, ok := peak["mem"]
		return v, ok
	}},
	{Name: "infinite", Help: "a division by zero", Compute: func(map[string]float64, map[string]float64, map[string]float64, time.Duration) (float64, bool) {
		return math.Inf(1), true
	}},
}

// The sampler samples at the start, every interval and at the end, and
// derives the figures from the first, last and peak values; a figure the
// samples cannot give is NaN, never zero.
func TestSampler(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		runStart := time.Now()
		s := metrics.StartSampler(context.Background(), []metrics.SampledTarget{
			{Name: "cache", Read: (&counting{ids: []string{"a", "a", "b", "a"}}).read, Figures: figures},
			{Name: "plain", Read: (&counting{}).read, Figures: figures[:1]},
			{Name: "down", Read: failing, Figures: figures[:1]},
		}, time.Second)
		time.Sleep(3500 * time.Millisecond)
		got := s.Stop(runStart)
		if len(got) != 3 {
			t.Fatalf("%d targets", len(got))
		}
		c := got[0]
		// Samples at 0, 1, 2, 3 s and the final one at 3.5 s.
		if c.Name != "cache" || c.Samples != 5 || c.SampleErr != "" {
			t.Errorf("cache: %+v", c)
		}
		if v := c.Server["ops_rate"]; math.Abs(v-40/3.5) > 1e-9 {
			t.Errorf("ops_rate %g, want %g", v, 40/3.5)
		}
		if v := c.Server["peak_mem"]; v != 500 {
			t.Errorf("peak_mem %g, want 500", v)
		}
		if v := c.Server["infinite"]; !math.IsNaN(v) {
			t.Errorf("an infinite figure is %g, want NaN", v)
		}
		if !slices.Equal(c.Order, []string{"ops_rate", "peak_mem", "infinite"}) || c.Help["peak_mem"] != "peak memory" {
			t.Errorf("order %v, help %v", c.Order, c.Help)
		}
		// a, a, b (at 2 s), a (at 3 s), a.
		if c.Servers != 2 || !slices.Equal(c.ServerChanges, []time.Duration{2 * time.Second, 3 * time.Second}) {
			t.Errorf("servers %d, changes %v", c.Servers, c.ServerChanges)
		}
		if p := got[1]; p.Samples != 5 || p.Servers != 0 || len(p.ServerChanges) != 0 {
			t.Errorf("plain: %+v", p)
		}
		if d := got[2]; d.Samples != 0 || d.SampleErr != "NOAUTH" || !math.IsNaN(d.Server["ops_rate"]) {
			t.Errorf("down: %+v", d)
		}
	})
}

// A sampler with nothing to sample stops at once.
func TestSamplerEmpty(t *testing.T) {
	t.Parallel()
	s := metrics.StartSampler(context.Background(), nil, 0)
	if got := s.Stop(time.Time{}); len(got) != 0 {
		t.Errorf("%d targets", len(got))
	}
}
