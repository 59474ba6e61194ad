//go:build memmeasure

package engine_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"testing"
	"testing/synctest"
	"time"

	"github.com/runplan/runplan/engine"
)

// TestMemoryFlatInRunLength is a measurement, not part of the suite (build
// tag memmeasure; scripts/bench-memory.sh runs it): the peak heap of a run
// with `interval: 10ms` for 40 s against the same run for 5 s, under
// synctest's virtual clock so that the machine's speed does not change how
// many iterations run. It prints the figures and fails when the retained
// heap's ratio is above 1.15.
//
//	go test -tags memmeasure -run TestMemoryFlatInRunLength -v ./engine/
func TestMemoryFlatInRunLength(t *testing.T) {
	// peak is the run's peak retained heap: the heap after a full GC,
	// every 100 ms of the run (what stays reachable, whatever the GC's
	// pacing), and the peak of the heap's objects between GCs.
	peak := func(d time.Duration) (retained, heap uint64) {
		src := fmt.Sprintf(`version: 1
interval: 10ms
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 1000/s, duration: %v, max_vus: 100}
    steps: [{probe: {delay: 1ms}}, {probe: {delay: 1ms}}]
checks:
  - {name: worst, expr: "worst(sc, s(1)).rate > 0"}
`, d)
		runtime.GC()
		samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var ms runtime.MemStats
		read := func() {
			metrics.Read(samples)
			heap = max(heap, samples[0].Value.Uint64())
			runtime.GC()
			runtime.ReadMemStats(&ms)
			retained = max(retained, ms.HeapAlloc)
		}
		synctest.Test(t, func(t *testing.T) {
			done := make(chan struct{})
			go func() {
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-done:
						return
					case <-tick.C:
						read()
					}
				}
			}()
			r := runPlan(t, src, engine.Options{}, context.Background())
			read()
			close(done)
			if f := os.Getenv("MEMPROFILE"); f != "" {
				out, err := os.Create(fmt.Sprintf("%s-%v", f, d))
				if err == nil {
					_ = pprof.Lookup("heap").WriteTo(out, 0)
					out.Close()
				}
			}
			s := r.Scenarios[0]
			t.Logf("%v: %d iterations, %d points per series (first %vs wide)", d, s.Count, len(s.Series), s.Series[0].Width)
		})
		return retained, heap
	}
	r5, h5 := peak(5 * time.Second)
	r40, h40 := peak(40 * time.Second)
	t.Logf("peak retained heap: 5 s %.1f MiB, 40 s %.1f MiB: ratio %.3f", float64(r5)/(1<<20), float64(r40)/(1<<20), float64(r40)/float64(r5))
	t.Logf("peak heap objects between GCs: 5 s %.1f MiB, 40 s %.1f MiB: ratio %.3f", float64(h5)/(1<<20), float64(h40)/(1<<20), float64(h40)/float64(h5))
	if r := float64(r40) / float64(r5); r > 1.15 {
		t.Errorf("retained heap grows with the run's length: ratio %.3f, want within 1.15", r)
	}
}
