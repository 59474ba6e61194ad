package metrics

import (
	"reflect"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Points keep their histograms in the sparse form: merging two of them and
// gathering the result into a dense histogram (reset from an earlier
// window) gives the figures a dense merge gives.
func TestSparseMergeMatchesDense(t *testing.T) {
	t.Parallel()
	a, b := NewHistogram(), NewHistogram()
	for i := range 1000 {
		_ = a.RecordValue(int64(time.Duration(i+1) * time.Microsecond))
		_ = b.RecordValue(int64(time.Duration(i+1) * 3 * time.Millisecond))
	}
	_ = b.RecordValue(int64(time.Hour - 1))
	dense := NewHistogram()
	dense.Merge(a)
	dense.Merge(b)

	merged := hdrhistogram.NewPacked(lowest, highest, sigfigs)
	for _, p := range []*hdrhistogram.PackedHistogram{sparse(a), sparse(b)} {
		if dropped := merged.Merge(p); dropped != 0 {
			t.Fatalf("%d values dropped", dropped)
		}
	}
	gathered := NewHistogram()
	_ = gathered.RecordValue(int64(time.Hour / 2)) // left from an earlier window
	gathered.Reset()
	if dropped := merged.MergeInto(gathered); dropped != 0 {
		t.Fatalf("%d values dropped", dropped)
	}
	if got, want := Summarize(gathered), Summarize(dense); !reflect.DeepEqual(got, want) || gathered.TotalCount() != dense.TotalCount() {
		t.Fatalf("sparse merge %+v (%d values), dense %+v (%d)", got, gathered.TotalCount(), want, dense.TotalCount())
	}
}
