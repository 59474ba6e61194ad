package webhook

import (
	"context"
	"github.com/runplan/runplan/engine/driver"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkDo measures the driver's hot path: a generic delivery of a small
// templated JSON body, rate limiting off, 50 concurrent deliveries, against
// an in-process server answering 204. The server shares the CPU: compare
// runs with each other, and see scripts/bench-webhook.sh for the comparison
// with wrk and hey.
func BenchmarkDo(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	spec := urlTarget(b, srv.URL+"/hook", "flavor: generic\nmax_conns: 50\nrate_limit: ignore\nretries: 0\n")
	tg, err := openTargetSpec(context.Background(), spec, driver.Env{})
	if err != nil {
		b.Fatal(err)
	}
	defer tg.Close()
	st := bound(b, tg, `{json: {content: "signal {{ iteration }} BUY BTC"}}`, "{status: 204}")
	b.SetParallelism(25)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		it := iteration()
		for pb.Next() {
			if out := st.Do(context.Background(), it); out.Err != nil {
				b.Error(out.Err)
				return
			}
		}
	})
}
