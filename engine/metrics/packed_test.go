package metrics

import (
	"reflect"
	"runtime"
	"testing"
	"time"
)

// Intervals record into histograms in the sparse form, and points merge
// them: the figures read off the sparse form (SummarizeSparse), and off a
// dense histogram they are gathered into (reset from an earlier window, as
// Worst does), are those of a dense histogram holding the same values.
func TestSparseMatchesDense(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values [2][]time.Duration
	}{
		{"one value", [2][]time.Duration{{time.Millisecond}, nil}},
		{"wide", [2][]time.Duration{spread(1000, time.Microsecond), append(spread(1000, 3*time.Millisecond), time.Hour-1)}},
		{"bounds", [2][]time.Duration{{1, time.Hour}, {time.Hour, 1, 1}}},
		{"many equal", [2][]time.Duration{repeat(70000, 250*time.Microsecond), repeat(3, time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dense := NewHistogram()
			merged := newSparse()
			for _, vs := range tt.values {
				part := newSparse()
				for _, v := range vs {
					if err := part.RecordValue(clamp(v)); err != nil {
						t.Fatal(err)
					}
					_ = dense.RecordValue(clamp(v))
				}
				if dropped := merged.Merge(part); dropped != 0 {
					t.Fatalf("%d values dropped", dropped)
				}
			}
			want := Summarize(dense)
			if got := SummarizeSparse(merged); !reflect.DeepEqual(got, want) || merged.TotalCount() != dense.TotalCount() {
				t.Fatalf("sparse %+v (%d values), dense %+v (%d)", got, merged.TotalCount(), want, dense.TotalCount())
			}
			gathered := NewHistogram()
			_ = gathered.RecordValue(int64(time.Hour / 2)) // left from an earlier window
			gathered.Reset()
			if dropped := merged.MergeInto(gathered); dropped != 0 {
				t.Fatalf("%d values dropped", dropped)
			}
			if got := Summarize(gathered); !reflect.DeepEqual(got, want) {
				t.Fatalf("gathered %+v, dense %+v", got, want)
			}
		})
	}
}

func spread(n int, step time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * step
	}
	return out
}

func repeat(n int, v time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// Recording into an interval's slot allocates nothing once the slot has
// held a typical interval: Roll resets it and keeps its storage. (Not
// parallel: it counts the process's allocations.)
func TestRecordDoesNotAllocate(t *testing.T) {
	s := NewSeries("s")
	s.SetInterval(10 * time.Millisecond)
	fill := func(idx int64) {
		for i := range 200 {
			s.Record(i, Sample{Service: time.Duration(i%50+1) * 20 * time.Microsecond, At: time.Duration(idx)*10*time.Millisecond + time.Millisecond})
		}
	}
	var before, after runtime.MemStats
	var allocs uint64
	for idx := range int64(5 * ringSize) {
		runtime.ReadMemStats(&before)
		fill(idx)
		runtime.ReadMemStats(&after)
		if idx >= ringSize { // every slot has held an interval
			allocs += after.Mallocs - before.Mallocs
		}
		s.Roll(idx)
	}
	if allocs != 0 {
		t.Errorf("recording allocated %d times in %d intervals of 200 samples", allocs, 4*ringSize)
	}
}

// A window's figures come from the points' histograms, kept at PointDigits:
// its percentiles and max are never below those of the full-precision
// histogram of the same values and at most 1 % above; its min and mean are
// within 1 %.
func TestWindowFiguresAtPointPrecision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []time.Duration
	}{
		{"spread", spread(5000, 997*time.Nanosecond)},
		{"one value", []time.Duration{1234567}},
		{"two clusters", append(repeat(990, 150*time.Microsecond+333), repeat(10, 2*time.Second+12345)...)},
		{"bounds", []time.Duration{1, time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			full := NewHistogram()
			s := NewSeries("s")
			s.SetInterval(time.Second)
			for i, v := range tt.values {
				_ = full.RecordValue(clamp(v))
				s.Record(i, Sample{Service: v, At: time.Duration(i%2) * time.Second})
			}
			s.Roll(0)
			s.Roll(1)
			s.EndSpan(2 * time.Second)
			w, err := Worst(s.Points(), time.Second, 2*time.Second)
			if err != nil || !w.OK {
				t.Fatalf("window %+v: %v", w, err)
			}
			want := Summarize(full)
			for _, f := range []struct {
				name      string
				got, want time.Duration
				neverLess bool
			}{
				{"min", w.Latency.Min, want.Min, false}, {"mean", w.Latency.Mean, want.Mean, false},
				{"p50", w.Latency.P50, want.P50, true}, {"p90", w.Latency.P90, want.P90, true},
				{"p99", w.Latency.P99, want.P99, true}, {"p999", w.Latency.P999, want.P999, true},
				{"max", w.Latency.Max, want.Max, true},
			} {
				diff := float64(f.got-f.want) / float64(f.want)
				if diff > 0.01 || diff < -0.01 || (f.neverLess && f.got < f.want) {
					t.Errorf("%s %v, full precision %v (%+.3f %%)", f.name, f.got, f.want, 100*diff)
				}
			}
		})
	}
}
