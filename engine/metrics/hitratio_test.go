package metrics

import (
	"math"
	"testing"
)

// TestHitRatioCountsLookupErrors: a failed lookup is a lookup that served
// nothing from the cache: it lowers the ratio rather than vanishing.
func TestHitRatioCountsLookupErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hits, misses, errs int64
		want               float64
	}{
		{9, 1, 0, 0.9},
		{9, 1, 10, 0.45},
		{0, 0, 4, 0},
		{0, 0, 0, math.NaN()},
	}
	for _, tc := range tests {
		s := NewSeries("x")
		for i := int64(0); i < tc.hits+tc.misses+tc.errs; i++ {
			s.Record(0, Sample{Hit: i < tc.hits, Miss: i >= tc.hits && i < tc.hits+tc.misses, LookupErr: i >= tc.hits+tc.misses})
		}
		st := s.Stats()
		got := st.HitRatio()
		if st.LookupErrors != tc.errs || !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("%d hits, %d misses, %d lookup errors: ratio %v, lookup errors %d; want %v", tc.hits, tc.misses, tc.errs, got, st.LookupErrors, tc.want)
		}
	}
}
