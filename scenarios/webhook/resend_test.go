package webhook

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// A delivery is sent at most once per attempt the plan asks for. The
// service here answers the first request on a keep-alive connection, then
// reads every later request in full and closes the connection without
// answering: each attempt on it fails, the service has received it all the
// same, and nothing may send it again behind the plan's back — not the fast
// client on a fresh connection, not net/http.
func TestNoResendAfterWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		retries  string
		attempts int   // of the second delivery
		received int64 // by the service, both deliveries
	}{
		{"retries 0", "retries: 0\n", 1, 2},
		{"retries 2", "retries: {max: 2, backoff: 1ms, max_backoff: 2ms}\n", 3, 4},
	}
	for _, tt := range tests {
		for _, client := range clients {
			t.Run(tt.name+"/"+client, func(t *testing.T) {
				t.Parallel()
				rs := newRawServer(t, func(n int64, r *http.Request) string {
					if n == 1 {
						return "HTTP/1.1 204 No Content\r\n\r\n"
					}
					return "" // read, never answered: the connection closes
				})
				tg := useClient(open(t, urlTarget(t, rs.url+"/hook", "flavor: generic\n"+tt.retries)), client).(*Target)
				st := bound(t, tg, "{json: {n: '{{ iteration }}'}}", "")
				if out := st.Do(context.Background(), iteration()); out.Err != nil {
					t.Fatalf("first delivery: %v", out.Err)
				}
				out := st.Do(context.Background(), iteration())
				if out.Class != ClassReset {
					t.Fatalf("second delivery: class %q err %v, want %q", out.Class, out.Err, ClassReset)
				}
				var we *Error
				if !errors.As(out.Err, &we) || we.Attempts != tt.attempts {
					t.Errorf("second delivery: %v, want %d attempts", out.Err, tt.attempts)
				}
				if !strings.Contains(out.Err.Error(), "closed before the response") {
					t.Errorf("error %q does not say the connection closed before the response", out.Err)
				}
				if got := rs.requests.Load(); got != tt.received {
					t.Errorf("the service received %d requests, want %d: a delivery was sent again behind the plan's back", got, tt.received)
				}
				stats, _ := tg.ServerStats(context.Background())
				if got := stats[statClientRequests]; got != float64(rs.requests.Load()) {
					t.Errorf("client_requests %v, the service received %d", got, rs.requests.Load())
				}
			})
		}
	}
}

// A connection idle for longer than the step's timeout has a read deadline
// in the past: looking at its socket must not take that for a dead
// connection, or keep-alive would be lost on every slow plan.
func TestFastClientIdlePastDeadline(t *testing.T) {
	t.Parallel()
	rs := newRawServer(t, func(int64, *http.Request) string { return "HTTP/1.1 204 No Content\r\n\r\n" })
	tg := open(t, urlTarget(t, rs.url+"/hook", "retries: 0\ntimeout: 5s\n")).(*Target)
	st := bound(t, tg, "{json: {a: 1}}", "")
	for i := range 2 {
		if out := st.Do(context.Background(), iteration()); out.Err != nil {
			t.Fatalf("delivery %d: %v", i, out.Err)
		}
		// As if the connection had sat idle past its deadline.
		c := <-tg.fast.idle
		_ = c.c.SetDeadline(aLongTimeAgo)
		tg.fast.idle <- c
	}
	if got := rs.conns.Load(); got != 1 {
		t.Errorf("%d connections for 2 deliveries, want 1: an idle connection was dropped for its old deadline", got)
	}
}
