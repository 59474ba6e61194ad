package load

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestParseSegment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Segment
		wantErr string
	}{
		{"0/1", Segment{0, 1}, ""},
		{"2/3", Segment{2, 3}, ""},
		{"3/3", Segment{}, "must be in 0..2"},
		{"-1/3", Segment{}, "must be in 0..2"},
		{"0/0", Segment{}, "must be at least 1"},
		{"1", Segment{}, "want I/N"},
		{"a/3", Segment{}, `index "a" is not a number`},
		{"1/b", Segment{}, `count "b" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSegment(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSegment(%q) = %v, %v; want error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSegment(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSegmentShare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		total int64
		count int
		want  []int64
	}{
		{10, 3, []int64{4, 3, 3}},
		{2, 3, []int64{1, 1, 0}},
		{0, 2, []int64{0, 0}},
		{9, 3, []int64{3, 3, 3}},
		{7, 1, []int64{7}},
	}
	for _, tt := range tests {
		var got []int64
		for i := range tt.count {
			got = append(got, Segment{i, tt.count}.Share(tt.total))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%d in %d segments: %v, want %v", tt.total, tt.count, got, tt.want)
		}
	}
	if got := (Segment{}).Share(5); got != 5 {
		t.Errorf("the zero segment's share of 5 is %d, want 5", got)
	}
	if got := (Segment{1, 3}).GlobalVU(2); got != 5 {
		t.Errorf("segment 1/3's VU 2 is global VU %d, want 5", got)
	}
}

// randomPacer is a random pacer of every kind with a bounded schedule.
func randomPacer(r *rand.Rand) Pacer {
	switch r.IntN(3) {
	case 0:
		return ConstantPacer{Rate: 1 + r.Float64()*500, Duration: time.Duration(1+r.IntN(3000)) * time.Millisecond}
	case 1:
		var st []Stage
		for range 1 + r.IntN(4) {
			st = append(st, Stage{Duration: time.Duration(1+r.IntN(2000)) * time.Millisecond, Target: float64(r.IntN(400))})
		}
		return RampPacer{Start: float64(r.IntN(200)), Stages: st}
	default:
		return BurstPacer{Size: 1 + r.IntN(40), Every: time.Duration(1+r.IntN(500)) * time.Millisecond, Count: 1 + r.IntN(20)}
	}
}

// schedule lists p's due times until Never.
func schedule(t *testing.T, p Pacer) []time.Duration {
	var out []time.Duration
	for h := uint64(0); ; h++ {
		d := p.Due(h)
		if d == Never {
			return out
		}
		if h > 1_000_000 {
			t.Fatalf("%#v: unbounded schedule", p)
		}
		out = append(out, d)
	}
}

// TestSegmentsPartitionSchedule: for random pacers and segment counts, the
// segments' schedules are in order and deal out the whole one: segment
// I's hit k is the whole's hit k*N+I, every hit in exactly one segment,
// due at the same time.
func TestSegmentsPartitionSchedule(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(14, 2026))
	for trial := range 300 {
		p := randomPacer(r)
		n := 1 + r.IntN(9)
		whole := schedule(t, p)
		seen := make([]int, len(whole))
		var union []time.Duration
		for i := range n {
			seg := Segment{i, n}
			part := schedule(t, Segmented(p, seg))
			if int64(len(part)) != seg.Share(int64(len(whole))) {
				t.Fatalf("trial %d %#v segment %v: %d hits, want %d of %d", trial, p, seg, len(part), seg.Share(int64(len(whole))), len(whole))
			}
			if !slices.IsSorted(part) {
				t.Fatalf("trial %d %#v segment %v: schedule out of order", trial, p, seg)
			}
			for k, d := range part {
				g := seg.Global(int64(k))
				if whole[g] != d {
					t.Fatalf("trial %d segment %v hit %d: due %v, whole hit %d due %v", trial, seg, k, d, g, whole[g])
				}
				seen[g]++
			}
			union = append(union, part...)
		}
		for g, c := range seen {
			if c != 1 {
				t.Fatalf("trial %d %#v in %d: whole hit %d in %d segments", trial, p, n, g, c)
			}
		}
		slices.Sort(union)
		if !slices.Equal(union, whole) {
			t.Fatalf("trial %d %#v in %d: the union of the segments' schedules is not the whole", trial, p, n)
		}
	}
}

// TestBurstSplitsItsSize: a burst's hits are spread over the segments,
// each getting its size's share give or take one.
func TestBurstSplitsItsSize(t *testing.T) {
	t.Parallel()
	p := BurstPacer{Size: 10, Every: time.Second, Count: 3}
	for i := range 3 {
		per := map[time.Duration]int{}
		for _, d := range schedule(t, Segmented(p, Segment{i, 3})) {
			per[d]++
		}
		for at, c := range per {
			if c < 3 || c > 4 {
				t.Errorf("segment %d burst at %v: %d hits, want 3 or 4", i, at, c)
			}
		}
		if len(per) != 3 {
			t.Errorf("segment %d: %d bursts, want 3", i, len(per))
		}
	}
}

// TestSegmentedRampVUs: at every moment of a random closed-model ramp, the
// segments' active VUs sum to the whole's.
func TestSegmentedRampVUs(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 7))
	for range 200 {
		start := float64(r.IntN(20))
		var st []Stage
		for range 1 + r.IntN(3) {
			st = append(st, Stage{Duration: time.Duration(1+r.IntN(1000)) * time.Millisecond, Target: float64(r.IntN(50))})
		}
		n := 1 + r.IntN(7)
		for el := time.Duration(0); el < 3*time.Second; el += 7 * time.Millisecond {
			whole, _ := VUsAt(start, st, el)
			var sum int64
			for i := range n {
				sum += Segment{i, n}.Share(int64(whole))
			}
			if sum != int64(whole) {
				t.Fatalf("at %v: segments run %d VUs, the whole %d", el, sum, whole)
			}
		}
	}
}

// TestClosedSegments runs every segment of closed models: their iterations
// sum to the whole's, per-VU iterations follow the VUs, and a segment
// without VUs runs nothing.
func TestClosedSegments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      Closed
		n        int
		wantVUs  []int
		wantIter []int64
	}{
		{"shared iterations", Closed{VUs: 10, Iterations: 100}, 3, []int{4, 3, 3}, []int64{34, 33, 33}},
		{"per-VU iterations", Closed{VUs: 10, PerVUIterations: 5}, 3, []int{4, 3, 3}, []int64{20, 15, 15}},
		{"fewer VUs than segments", Closed{VUs: 2, PerVUIterations: 3}, 3, []int{1, 1, 0}, []int64{3, 3, 0}},
		{"fewer iterations than segments", Closed{VUs: 4, Iterations: 1}, 2, []int{2, 2}, []int64{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				for i := range tt.n {
					cfg := tt.cfg
					cfg.Segment = Segment{i, tt.n}
					cfg.GracefulStop = time.Second
					var ran atomic.Int64
					var mu sync.Mutex
					vus := map[int]bool{}
					res := cfg.Run(context.Background(), func(ctx context.Context, vu int, n int64, _ time.Time) bool {
						time.Sleep(10 * time.Millisecond)
						mu.Lock()
						vus[vu] = true
						mu.Unlock()
						ran.Add(1)
						return true
					})
					if res.MaxVUs != tt.wantVUs[i] || res.Iterations != tt.wantIter[i] || ran.Load() != tt.wantIter[i] {
						t.Errorf("segment %d/%d: %d VUs, %d iterations (ran %d); want %d VUs, %d iterations",
							i, tt.n, res.MaxVUs, res.Iterations, ran.Load(), tt.wantVUs[i], tt.wantIter[i])
					}
				}
			})
		})
	}
}

// TestOpenSegmentRuns: the open model runs its segment's part of the
// schedule, at the whole's due times.
func TestOpenSegmentRuns(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := ConstantPacer{Rate: 100, Duration: time.Second}
		var total int64
		for i := range 3 {
			var mu sync.Mutex
			var got []time.Duration
			var start time.Time
			res := Open{Pacer: Segmented(p, Segment{i, 3}), MaxVUs: 4, Stop: Stop{GracefulStop: time.Second,
				OnStart: func(s time.Time) { start = s }}}.Run(context.Background(),
				func(ctx context.Context, vu int, n int64, scheduled time.Time) bool {
					mu.Lock()
					got = append(got, scheduled.Sub(start))
					mu.Unlock()
					return true
				})
			total += res.Scheduled
			slices.Sort(got)
			want := schedule(t, Segmented(p, Segment{i, 3}))
			if !slices.Equal(got, want) {
				t.Fatalf("segment %d ran at %v, want %v", i, got, want)
			}
		}
		if total != 100 {
			t.Fatalf("the segments scheduled %d hits, want 100", total)
		}
	})
}
